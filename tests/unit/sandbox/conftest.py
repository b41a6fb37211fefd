"""Unit tests of the sandbox package: no Docker engine needed."""
