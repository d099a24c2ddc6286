"""Markdown tables for docs/MODEL_CARD.md from `surfsight evaluate --json` outputs.

    python scripts/model_card_tables.py EVAL_DIR/eval_height.json EVAL_DIR/eval_image.json \
        [--tta EVAL_DIR/eval_height_tta.json] [--large HEIGHT_4000_A.json HEIGHT_4000_B.json ...]

``--tta``: the height evaluation with test-time augmentation; ``--large``: height evaluations on
more samples, whose per-instrument coverage is shown as a min-max range per file (and whose
global figures get a column of their own, from the first file).
"""

from __future__ import annotations

import argparse
import json


def _f(v, d=3):
    return "-" if v is None else f"{v:.{d}f}"


def _get(result: dict, *keys):
    for k in keys:
        result = result[k]
    return result


def parameter_table(h: dict, im: dict, large: list[dict]) -> list[str]:
    head = ["parameter", "R2 (heights)", "MAPE %", "coverage90", "width90_rel",
            "coverage90 per instrument (stylus/csi/confocal/fv/afm)"]
    if large:
        head.append(f"same, {large[0]['n']} samples ({' / '.join('seed ' + str(r.get('seed')) for r in large)}), min-max")
    head += ["R2 (image)", "coverage90 (image)", "image coverage per instrument"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, v in h["parameters"].items():
        vi = im["parameters"][k]
        row = [k, _f(v["r2"], 4 if v["r2"] > 0.99 else 3), _f(v["mape"], 0), _f(v["coverage90"]), _f(v["width90_rel"], 2),
               "/".join(_f(x, 2) for x in v["coverage90_by_instrument"].values())]
        if large:
            ranges = []
            for r in large:
                per = r["parameters"][k]["coverage90_by_instrument"].values()
                ranges.append(f"{_f(min(per))}-{_f(max(per))}")
            row.append(" / ".join(ranges))
        row += [_f(vi["r2"]), _f(vi["coverage90"]), "/".join(_f(x, 2) for x in vi["coverage90_by_instrument"].values())]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def other_table(h: dict, im: dict, tta: dict | None, large: list[dict]) -> list[str]:
    cols = [("heights", h)] + ([("heights, TTA", tta)] if tta else []) + \
        ([(f"heights, {large[0]['n']} samples", large[0])] if large else []) + [("image", im)]
    lines = ["| other | " + " | ".join(c for c, _ in cols) + " |", "|---|" + "---|" * len(cols)]
    for name, key in (("u(Sa) R2 (ln)", ("measurement_uncertainty", "Sa", "r2")),
                      ("u(Sq) R2 (ln)", ("measurement_uncertainty", "Sq", "r2")),
                      ("instrument accuracy", ("instrument", "accuracy")), ("instrument ECE", ("instrument", "ece")),
                      ("defect mIoU", ("defects", "miou")), ("defect recall (deeper than 3x noise)", ("defects", "recall"))):
        lines.append(f"| {name} | " + " | ".join(_f(_get(r, *key)) for _, r in cols) + " |")
    lines.append("| defect IoU per kind | " + " | ".join(
        ", ".join(f"{k} {_f(v, 2)}" for k, v in r["defects"]["iou"].items()) for _, r in cols) + " |")
    lines.append("| reconstruction R2 (median) | " + " | ".join(
        _f((r.get("reconstruction") or {}).get("r2_median")) for _, r in cols) + " |")
    lines.append("| seconds per sample (CPU, 128 x 128, incl. 16 passes) | " + " | ".join(
        _f(r["seconds_per_sample"]) for _, r in cols) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("height")
    ap.add_argument("image")
    ap.add_argument("--tta")
    ap.add_argument("--large", nargs="*", default=[])
    a = ap.parse_args()
    h, im = (json.load(open(p)) for p in (a.height, a.image))
    tta = json.load(open(a.tta)) if a.tta else None
    large = [json.load(open(p)) for p in a.large]
    print("\n".join(parameter_table(h, im, large) + [""] + other_table(h, im, tta, large)))


if __name__ == "__main__":
    main()
