"""Markdown tables for docs/MODEL_CARD.md from two `surfsight evaluate --json` outputs.

Usage: python scripts/model_card_tables.py eval_height.json eval_image.json
"""
import json, sys
h = json.load(open(sys.argv[1])); im = json.load(open(sys.argv[2]))
def f(v, d=3):
    return "-" if v is None else f"{v:.{d}f}"
lines = [f"From heights (n = {h['n']}) and from images (n = {im['n']}), 128 x 128, mc = 8, 16 MC-dropout passes.", "",
         "| parameter | R2 (heights) | MAPE % | coverage90 | width90_rel | coverage90 per instrument (stylus/csi/confocal/fv/afm) | R2 (image) | coverage90 (image) |",
         "|---|---|---|---|---|---|---|---|"]
for k, v in h["parameters"].items():
    vi = im["parameters"][k]
    per = "/".join(f(x, 2) for x in v["coverage90_by_instrument"].values())
    lines.append(f"| {k} | {f(v['r2'])} | {f(v['mape'], 0)} | {f(v['coverage90'])} | {f(v['width90_rel'], 2)} | {per} | {f(vi['r2'])} | {f(vi['coverage90'])} |")
lines += ["", "| other | heights | image |", "|---|---|---|"]
for name, key in (("u(Sa) R2 (ln)", ("measurement_uncertainty", "Sa", "r2")), ("u(Sq) R2 (ln)", ("measurement_uncertainty", "Sq", "r2")),
                  ("instrument accuracy", ("instrument", "accuracy")), ("instrument ECE", ("instrument", "ece")),
                  ("defect mIoU", ("defects", "miou")), ("defect recall (deeper than 3x noise)", ("defects", "recall"))):
    def g(r):
        for p in key: r = r[p]
        return r
    lines.append(f"| {name} | {f(g(h))} | {f(g(im))} |")
lines.append(f"| defect IoU per kind | {', '.join(f'{k} {f(v, 2)}' for k, v in h['defects']['iou'].items())} | {', '.join(f'{k} {f(v, 2)}' for k, v in im['defects']['iou'].items())} |")
lines.append(f"| reconstruction R2 (median) | - | {f(im.get('reconstruction', {}).get('r2_median'))} |")
lines.append(f"| seconds per sample (CPU, 128 x 128, incl. 16 passes) | {f(h['seconds_per_sample'])} | {f(im['seconds_per_sample'])} |")
print("\n".join(lines))
