"""QR codes of verification links: the module matrix (reportlab's encoder), drawn into the
PDF as vector squares and into HTML pages as one SVG path."""

from __future__ import annotations

from reportlab.graphics.barcode import qrencoder

QUIET_ZONE = 4  # modules of white border the QR standard asks for
# M: about 15% of the code may be damaged (a folded or stamped paper) and still read.
LEVEL = "M"

Matrix = tuple[tuple[bool, ...], ...]


def qr_matrix(text: str) -> Matrix:
    """Dark (True) and light modules, row by row, without the quiet zone."""
    code = qrencoder.QRCode(None, getattr(qrencoder.QRErrorCorrectLevel, LEVEL))
    code.addData(text)
    code.make()
    return tuple(tuple(bool(cell) for cell in row) for row in code.modules)


def dark_runs(matrix: Matrix) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (row, first column, length): few shapes to draw."""
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return runs


def qr_svg(text: str, module: int = 4, title: str = "") -> str:
    """An inline SVG of the QR code (`module` pixels per module, quiet zone included).

    Built only from booleans and integers, so it is safe to insert into a page as is."""
    matrix = qr_matrix(text)
    size = (len(matrix) + 2 * QUIET_ZONE) * module
    q = QUIET_ZONE
    # one rectangle per run: move to its corner, across, down one module, back, close
    path = "".join(
        f"M{(c + q) * module} {(r + q) * module}h{n * module}v{module}h-{n * module}z"
        for r, c, n in dark_runs(matrix)
    )
    label = "".join(ch for ch in title if ch not in "<>&\"'")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" role="img" aria-label="{label}">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )
