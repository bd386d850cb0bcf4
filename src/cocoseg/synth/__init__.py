"""The built-in synthetic dataset: deterministic shapes, crowds and people in COCO format (numpy only)."""
from __future__ import annotations

from cocoseg.synth.categories import CATEGORIES as CATEGORIES
from cocoseg.synth.categories import KEYPOINT_NAMES as KEYPOINT_NAMES
from cocoseg.synth.categories import SKELETON as SKELETON
from cocoseg.synth.categories import SynthCategory as SynthCategory
from cocoseg.synth.generate import SynthData as SynthData
from cocoseg.synth.generate import SynthResult as SynthResult
from cocoseg.synth.generate import SynthSplit as SynthSplit
from cocoseg.synth.generate import generate as generate
from cocoseg.synth.generate import generate_coco as generate_coco
from cocoseg.synth.scene import RenderedImage as RenderedImage
from cocoseg.synth.scene import SynthConfig as SynthConfig
from cocoseg.synth.scene import render_image as render_image

__all__ = [
    "CATEGORIES", "KEYPOINT_NAMES", "SKELETON", "SynthCategory", "SynthConfig", "SynthData",
    "SynthResult", "SynthSplit", "RenderedImage", "generate", "generate_coco", "render_image",
]
