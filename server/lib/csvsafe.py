"""CSV for spreadsheets: text that a spreadsheet would run as a formula is neutralised (CSV injection)."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """`value`, with a leading apostrophe when it starts like a formula."""
    return "'" + value if value[:1] in FORMULA_STARTS else value


__all__ = ["FORMULA_STARTS", "csv_safe"]
