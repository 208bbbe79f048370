"""The name of a method's delivered variant, `<method>@<size>` (imports nothing heavy: the tables use it).

The deliver stage (workflow/rules/deliver.smk) writes a method's outputs carried to a larger size
under that name, and the tables give it a row of its own next to the method's.
"""

SEPARATOR = "@"


def delivered_name(method: str, size: str) -> str:
    return f"{method}{SEPARATOR}{size}"


def split_delivered(name: str) -> tuple[str, str | None]:
    """'dtp_lc1_5@1024x1024' -> ('dtp_lc1_5', '1024x1024'); a plain method name -> (name, None)."""
    method, sep, size = name.partition(SEPARATOR)
    return (method, size) if sep else (name, None)
