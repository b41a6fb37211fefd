"""Wire types: msgspec Structs that the Litestar handlers take and return, and the desktop client decodes.

One module per noun. Names follow `<Noun>` (what the server returns), `<Noun>Create` / `<Noun>Update`
(what a client sends). Constraints live in the types (`msgspec.Meta`), so a bad body is refused with the
field named before any handler runs.
"""
