"""What a fetched file must be: its sha256 (or the pinned prefix of it) and its size."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expected:
    sha256: str                 # 64 hex digits, or a 16-digit prefix (then `bytes` is also checked)
    bytes: int | None = None

    def problem(self, sha256: str, size: int) -> str | None:
        """None when a file with this digest and size is the pinned one, else what is wrong."""
        if self.bytes is not None and size < self.bytes:
            return f"is truncated: {size} of {self.bytes} bytes"
        if self.bytes is not None and size != self.bytes:
            return f"has {size} bytes, not the pinned {self.bytes}"
        if not sha256.startswith(self.sha256):
            return f"has sha256 {sha256}, not the pinned {self.sha256}{'...' if len(self.sha256) < 64 else ''}"
        return None

    def describe(self) -> str:
        size = f", {self.bytes} bytes" if self.bytes is not None else ""
        return f"sha256 {self.sha256}{'...' if len(self.sha256) < 64 else ''}{size}"
