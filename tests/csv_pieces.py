"""Byte pieces the CSV grammar gives a meaning to, shared by the scanners' property tests.

Escaped quotes, quotes after a closing quote or mid-field (literal), CR runs, blank lines,
CRLF, multi-byte UTF-8, and a run longer than one 64-byte word.
"""

GRAMMAR_PIECES = [
    b"a",
    b"xyz",
    b"\xc3\xa9",
    b",",
    b'"',
    b'""',
    b'"""',
    b'","',
    b"\n",
    b"\r\n",
    b"\r",
    b"\r\r\n",
    b"\n\n",
    b"\r\n\r\n",
    b'a"b',
    b"0123456789" * 7,  # longer than one 64-byte word
]
