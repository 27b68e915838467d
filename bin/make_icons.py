"""Draw the home-screen icons (static/img/*.png) from our favicon, static/img/favicon.svg.

Run after changing the favicon: ``.venv/bin/python bin/make_icons.py``. The PNGs are committed.

The favicon is a circle and one stroked path of straight lines; this reads exactly those
from the SVG (no SVG renderer is installed) and draws them with Pillow, four times larger
than needed and then scaled down for smooth edges. Three kinds of icon:

- ``icon-192.png``, ``icon-512.png``: the round favicon on a transparent ground (manifest, "any");
- ``icon-maskable-512.png``: a full-bleed square in the circle's colour, the clock inside the
  safe zone, for launchers that cut their own shape (manifest, "maskable");
- ``apple-touch-icon.png`` (180 px): the same full-bleed square; iOS rounds the corners itself
  and would show a transparent ground as black.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # nosec B405  # parses our own committed file
from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parent.parent / "static" / "img"
SVG = "{http://www.w3.org/2000/svg}"
SUPERSAMPLE = 4


def read_favicon(path: Path) -> tuple[float, dict[str, str], dict[str, str], list[tuple[float, float]]]:
    """The view box size, the circle's and the path's attributes, and the path's points."""
    root = ET.parse(path).getroot()  # nosec B314  # our own file, not user input
    size = float(root.attrib["viewBox"].split()[2])
    circle = root.find(f"{SVG}circle")
    line = root.find(f"{SVG}path")
    if circle is None or line is None:
        raise SystemExit(f"{path}: expected one <circle> and one <path>")
    return size, circle.attrib, line.attrib, path_points(line.attrib["d"])


def path_points(d: str) -> list[tuple[float, float]]:
    """The points of a path made of M, L, H and V commands (upper case absolute, lower relative)."""
    x = y = 0.0
    points: list[tuple[float, float]] = []
    for command, args in re.findall(r"([MLHVmlhv])([^MLHVmlhv]*)", d):
        numbers = [float(n) for n in re.findall(r"-?\d*\.?\d+", args)]
        relative = command.islower()
        kind = command.upper()
        if kind in "ML":
            for i in range(0, len(numbers), 2):
                dx, dy = numbers[i], numbers[i + 1]
                x, y = (x + dx, y + dy) if relative else (dx, dy)
                points.append((x, y))
        else:
            for n in numbers:
                if kind == "H":
                    x = x + n if relative else n
                else:
                    y = y + n if relative else n
                points.append((x, y))
    return points


def draw(pixels: int, *, full_bleed: bool, content: float = 1.0) -> Image.Image:
    """The favicon at ``pixels`` square; ``content`` shrinks the clock (a maskable icon's safe zone)."""
    size, circle, line, points = read_favicon(STATIC / "favicon.svg")
    big = pixels * SUPERSAMPLE
    fill = circle["fill"]
    image = Image.new("RGBA", (big, big), fill if full_bleed else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    scale = big / size * content
    offset = big * (1 - content) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return offset + x * scale, offset + y * scale

    if not full_bleed:
        cx, cy = at(float(circle["cx"]), float(circle["cy"]))
        r = float(circle["r"]) * scale
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    width = float(line["stroke-width"]) * scale
    xy = [at(x, y) for x, y in points]
    pen.line(xy, fill=line["stroke"], width=round(width), joint="curve")
    if line.get("stroke-linecap") == "round":
        for px, py in (xy[0], xy[-1]):
            pen.ellipse((px - width / 2, py - width / 2, px + width / 2, py + width / 2), fill=line["stroke"])
    return image.resize((pixels, pixels), Image.Resampling.LANCZOS)


def main() -> None:
    icons = {
        "icon-192.png": draw(192, full_bleed=False),
        "icon-512.png": draw(512, full_bleed=False),
        "icon-maskable-512.png": draw(512, full_bleed=True, content=0.8),
        "apple-touch-icon.png": draw(180, full_bleed=True, content=0.9),
    }
    for name, image in icons.items():
        image.save(STATIC / name, optimize=True)
        print(STATIC / name)


if __name__ == "__main__":
    main()
