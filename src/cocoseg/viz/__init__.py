"""Drawing instances on images (numpy + OpenCV only, no torch)."""
from cocoseg.viz.draw import COCO_SKELETON, PALETTE, color_of, draw_instances

__all__ = ["COCO_SKELETON", "PALETTE", "color_of", "draw_instances"]
