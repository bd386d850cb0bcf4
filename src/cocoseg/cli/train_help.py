"""One line per training key for `cocoseg train --help` (and `demo --help`): what the key does.

Kept beside the CLI, not in the config dataclasses: these are words for users, and a test checks that
every `TrainConfig` key has one.
"""
from __future__ import annotations

TRAIN_HELP: dict[str, str] = {
    # run
    "data": "dataset YAML (path, folder holding one, or a shipped name such as coco-seg.yaml)",
    "model": "what to train: yolov8{n,s,m,l,x}-seg (.yaml: from scratch; .pt: fine-tune those weights)",
    "epochs": "passes over the train split",
    "imgsz": "square input size in pixels, a multiple of 32",
    "batch": "images per iteration (across all GPUs under torchrun)",
    "device": "cpu, 0, cuda:1 ... ('' = first CUDA device, else CPU)",
    "workers": "data-loading processes per device",
    "threads": "torch CPU threads (0 = the cores other processes leave idle)",
    "project": "folder holding the runs",
    "name": "run folder under project (incremented unless exist_ok)",
    "exist_ok": "reuse project/name instead of making name2, name3, ...",
    "resume": "continue the run of last.pt (True: the latest run, or a path to last.pt)",
    "seed": "random seed of shuffling, augmentation and initialisation",
    "deterministic": "deterministic algorithms (reproducible, sometimes slower)",
    "fraction": "fraction of the train split used, in (0, 1]",
    "cache_labels": "cache the parsed labels beside the dataset for the next run",
    "cache_images": "keep decoded, resized images in RAM (skipped when over half the free memory)",
    "patience": "stop after this many epochs without a better fitness",
    "close_mosaic": "turn mosaic off for the last N epochs",
    "save_period": "also save epochN.pt every N epochs (-1: never)",
    "plots": "write results.png, label and batch drawings, curves of the final validation",
    "pretrained": "with a .pt model: load its matching weights",
    "time": "hours of training after which to stop (0: no limit; overrides epochs)",
    "max_iters": "stop each epoch after N iterations (0: no limit; for smoke tests)",
    # optimizer and schedule
    "optimizer": "SGD, AdamW, Adam, or auto (AdamW for short runs, SGD for long ones)",
    "lr0": "initial learning rate",
    "lrf": "final learning rate as a fraction of lr0",
    "momentum": "SGD momentum / Adam beta1",
    "weight_decay": "L2 weight decay of the weights (not biases or norms)",
    "warmup_epochs": "epochs of linear learning-rate and momentum warmup (fractions allowed)",
    "warmup_momentum": "momentum at the start of warmup",
    "warmup_bias_lr": "bias learning rate at the start of warmup",
    "nbs": "nominal batch size: gradients accumulate until this many images per optimizer step",
    "cos_lr": "cosine learning-rate schedule instead of linear",
    "max_norm": "clip the gradients' L2 norm to this value",
    "ema": "keep an exponential moving average of the weights (used for validation and best.pt)",
    "amp": "mixed precision on CUDA",
    # loss
    "box": "box (CIoU) loss gain",
    "cls": "classification loss gain",
    "dfl": "distribution focal loss gain",
    "overlap_mask": "one index map per image for mask targets (overlaps go to the smaller instance)",
    "mask_ratio": "mask targets downsampled by this factor",
    # augmentation
    "hsv_h": "hue jitter, fraction of the hue circle",
    "hsv_s": "saturation jitter, fraction",
    "hsv_v": "brightness jitter, fraction",
    "degrees": "random rotation range in degrees (+/-)",
    "translate": "random translation, fraction of the image size (+/-)",
    "scale": "random scale gain (+/-)",
    "shear": "random shear in degrees (+/-)",
    "perspective": "random perspective, fraction (0-0.001)",
    "flipud": "probability of an upside-down flip",
    "fliplr": "probability of a left-right flip",
    "mosaic": "probability of a 4-image mosaic",
    "mixup": "probability of mixing two images",
    "copy_paste": "probability of copy-pasting instances between images",
    # validation
    "val": "validate during training (the last epoch always when True)",
    "val_period": "validate every N epochs",
    "conf": "confidence threshold of validation",
    "iou": "NMS IoU threshold of validation",
    "max_det": "detections kept per image in validation",
}
