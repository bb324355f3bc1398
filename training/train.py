"""Fine-tune MobileNetV2 + a projection head by metric learning on a photo index.

One command, on CPU or GPU, alone or under ``torchrun --nproc_per_node=N`` (DDP: gloo on CPU,
nccl on GPU); its defaults are the shipped model's recipe (``weights/MODEL_CARD.md``), on a
held-out split whose validation groups choose the inference side::

    python -m training.train --index ../shared/datasets/nike_af1_j1/index.csv --out runs/nike

Two losses, summed (``--loss``):

* multi-similarity over product x label classes, on the head's output: each batch (m photos per
  class) holds a product's genuine and fake photos together and the miner picks its hardest
  pairs, same product and other label, which teaches the backbone what tells them apart;
* the gallery score (:mod:`training.losses`), on the pooled backbone features: every training
  photo scored against all the others of its product exactly as an inspection scores it, its
  own photo group left out, so the nearest references keep saying the right label.

``--cell-loss W`` adds a third, screened on one fold and not adopted (``weights/MODEL_CARD.md``):
the same score on the places of the item (:class:`training.losses.CellScoreLoss`), as galleries
re-rank a photo's shortlist by its cells, weighted ``W``.

Galleries then search the pooled backbone features (``--search pooled``): the head pulls each
class together, which throws away what tells one item from another, and a nearest-neighbour
search over a gallery lives on that (``ipr_vision.embedders.finetuned.EmbeddingNet``).

The split is by photo group (``dup_group``): the held-out groups, never seen, are for the
evaluation (``training.evaluate``); ``--validation-share`` of the rest is kept out too, to
choose the inference side on (photos squashed to it before embedding; among ``--infer-sizes``,
by AUROC, recorded in the checkpoint as ``embed_size``: a network trained on random crops sees
best at a larger side than it was trained at, see ``training.evaluate.choose_input_size``)
and for galleries to calibrate on: photos the model never saw, as a right holder's will be.
Both are written to ``OUT/split.json``, the weights to ``OUT/model.safetensors``.

``--folds K --fold I`` trains for cross-validation instead (``training.evaluate --folds K``):
fold I's photo groups are held out and the other folds trained on, less ``--validation-share``
of their groups, kept for the same choices as above. After every epoch ``OUT/resume.pt`` holds
the run's state, and ``--resume`` continues an interrupted run from it (:mod:`training.resume`)::

    python -m training.train --index ... --folds 5 --fold 0 --out runs/cv/fold0 --resume

The shipped model, once cross-validation has chosen the recipe, trains on every photo (nothing
held out, nothing to choose on: the side the folds chose is given) but the demo sample's photo
groups, so the demo shows what a right holder's own photos would::

    python -m training.train --index ... --held-out-share 0 --validation-share 0 \
        --infer-sizes 288 --keep-out demo/sample/index.csv --out runs/shipped --resume

``--frozen-stem`` keeps the ImageNet stem (up to stride 16) as it is and trains only the last
stages and the head: about twice as fast on a CPU, but it measured worse on validation groups
(AUROC 0.840-0.845 after 16-24 epochs, against 0.871 for the ImageNet features; caching the
stem's output for 8 augmented views per photo was faster still and overfitted, 0.867).
``--objective binary`` trains the genuine/fake classifier baseline on the same split instead of
the embedding.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from pytorch_metric_learning import losses, miners, samplers
from torch.nn.parallel import DistributedDataParallel

from ipr_vision.embedders import weights
from ipr_vision.embedders.finetuned import HEAD, POOLED, EmbeddingNet
from ipr_vision.embedders.mobilenet import PATCH_STAGE, fold_batch_norm
from ipr_vision.intake.labelled import LabelledPhoto, group_key

from . import resume
from .classifier import BINARY, METRIC, BinaryClassifier
from .data import PhotoSet, class_name, fold_sides, load_index, phone_augment, plain, split
from .evaluate import choose_input_size
from .losses import CellScoreLoss, GalleryScoreLoss

MS, GALLERY, BOTH = "multi-similarity", "gallery", "both"
LOSSES = (MS, GALLERY, BOTH)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.train",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="CSV: path,label,product,"
                        "dup_group (as ../shared/datasets/*/index.csv)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the run's files")
    parser.add_argument("--products", nargs="*", help="train on these products only "
                        "(protocol 3: air_force_1, evaluated on jordan_1)")
    parser.add_argument("--held-out-share", type=float, default=0.2,
                        help="share of photo groups kept out of training for evaluation (0: "
                        "train on every photo, as the shipped model once cross-validation has "
                        "chosen its recipe)")
    parser.add_argument("--folds", type=int, default=0, metavar="K",
                        help="cross-validation: deal the photo groups into K folds and hold out "
                        "--fold instead of --held-out-share")
    parser.add_argument("--fold", type=int, default=0, metavar="I",
                        help="with --folds: the fold held out (0 to K-1)")
    parser.add_argument("--keep-out", type=Path, metavar="CSV",
                        help="an index (path,label,product,dup_group) whose photo groups are "
                        "never trained on, written to split.json as held out: the demo sample "
                        "(demo/sample/index.csv), so the demo is not flattered by photos the "
                        "model memorised")
    parser.add_argument("--validation-share", type=float, default=0.15,
                        help="share of the remaining groups kept out of training: the inference "
                        "side is chosen on them, and a gallery holding them is calibrated on "
                        "them (0: none)")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--objective", choices=(METRIC, BINARY), default=METRIC,
                        help="metric: the embedding; binary: the genuine/fake classifier baseline")
    parser.add_argument("--loss", choices=LOSSES, default=BOTH,
                        help="metric objective: multi-similarity over product x label classes, "
                        "the gallery score against a memory of every training photo, or both "
                        "summed")
    parser.add_argument("--search", choices=(POOLED, HEAD), default=POOLED,
                        help="what galleries search: the pooled backbone features (the head "
                        "only trains them) or the head's output")
    parser.add_argument("--gallery-on", choices=(POOLED, HEAD), default=POOLED,
                        help="what the gallery-score loss shapes: the pooled backbone features "
                        "or the projection head's output")
    parser.add_argument("--cell-loss", type=float, metavar="WEIGHT",
                        help="add the gallery-score loss on the places of the item, this many "
                        "times (training.losses.CellScoreLoss; screened, not in the recipe)")
    parser.add_argument("--frozen-stem", action="store_true",
                        help="keep the stride-16 stem ImageNet's and train the rest (about "
                        "twice as fast on a CPU)")
    parser.add_argument("--save-every", type=int, default=0, metavar="N",
                        help="also save OUT/epoch-K.safetensors every N epochs")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/resume.pt, the state saved after each epoch "
                        "(the same command; starts afresh when there is none)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=48, help="per process")
    parser.add_argument("--m-per-class", type=int, default=12)
    parser.add_argument("--lr", type=float, default=1e-3, help="head; the backbone gets a tenth")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--size", type=int, default=288, help="training input side in pixels")
    parser.add_argument("--infer-sizes", type=int, nargs="+", metavar="SIDE",
                        help="inference sides to choose from on the validation groups "
                        "(default: --size and about 1.2 and 1.4 times it); without validation "
                        "groups, the one side to ship (e.g. the side the folds chose)")
    parser.add_argument("--workers", type=int, default=1, help="data loader processes")
    parser.add_argument("--augment-on", choices=("auto", "workers", "device"), default="auto",
                        help="where photos are augmented: by the data loader processes on the "
                        "CPU, or a batch at a time on the training device (auto: the device "
                        "when it is a GPU, where the CPU cores would otherwise starve it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0,
                        help="at most this many training photos per class (smoke runs)")
    parser.add_argument("--cpu", action="store_true", help="train on CPU even if CUDA is there")
    parser.add_argument("--autocast", choices=("bf16",), default=None,
                        help="run the network's forward pass in bf16 where it is safe (torch "
                        "autocast; weights, optimiser and losses stay f32): 16.7 against "
                        "12.2 photos/s on 2 cores with AVX-512 bf16 (the network's step 1.8x, "
                        "augmenting the photos is not sped up); a variant of the recipe, "
                        "not the recipe, until cross-validation says otherwise")
    args = parser.parse_args(argv)
    if not args.validation_share and args.infer_sizes and len(args.infer_sizes) > 1:
        parser.error("choosing among inference sides needs validation groups "
                     "(--validation-share above 0); without them give the one side to ship")
    if args.cell_loss and (args.objective != METRIC or args.loss == MS):
        parser.error("--cell-loss scores photos as the gallery-score loss does: it needs "
                     "--objective metric and --loss gallery or both")
    return args


def first_per_class(items: list[LabelledPhoto], limit: int) -> list[LabelledPhoto]:
    """The first ``limit`` photos of each class, for smoke runs on a handful of photos."""
    kept: list[LabelledPhoto] = []
    counts: dict[str, int] = {}
    for item in items:
        name = class_name(item)
        if counts.get(name, 0) < limit:
            counts[name] = counts.get(name, 0) + 1
            kept.append(item)
    return kept


def infer_sizes(size: int) -> list[int]:
    """The training side and one and two of MobileNetV2's strides (32 px) above it, as
    candidates for the inference side."""
    return [size, size + 32, size + 64]


@torch.no_grad()
def gallery_score_loss(model: torch.nn.Module, side: str, stem: torch.nn.Module,
                       dataset: PhotoSet, items: list[LabelledPhoto], size: int,
                       device: torch.device, memory: torch.Tensor | None = None
                       ) -> GalleryScoreLoss:
    """The loss with its memory filled by the starting network's view of every training photo
    (whole photo squashed, as inference sees it), so it scores against all of them from the
    first step; a resumed run passes the ``memory`` it left instead. ``side`` (POOLED or HEAD)
    is the output the loss shapes."""
    if memory is None:
        model.eval()
        view = plain(size)
        memory = torch.cat([
            model(stem(torch.stack([view(image) for image in dataset.images[start:start + 32]]
                                   ).to(device, memory_format=torch.channels_last)))[
                0 if side == POOLED else 1]
            for start in range(0, len(dataset), 32)])
        model.train()
    codes = {name: code for code, name in enumerate(sorted({i.product for i in items}))}
    groups: dict[str, int] = {}
    return GalleryScoreLoss(
        memory, torch.tensor([i.label == "fake" for i in items]),
        torch.tensor([codes[i.product] for i in items]),
        torch.tensor([groups.setdefault(group_key(i), len(groups))
                      for i in items])).to(device)


class _Trainable(torch.nn.Module):
    """What the optimiser (and DDP) sees: the network from its input, or from the output of a
    frozen stem, returning both the pooled backbone features and the head's output, so each
    loss can take the one it shapes."""

    def __init__(self, net: EmbeddingNet, from_stem: bool) -> None:
        super().__init__()
        self.net, self.from_stem = net, from_stem

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pooled features, the head's output and the last feature map (the cells)."""
        last = self.net.last_map(images if self.from_stem else self.net.stem(images))
        pooled = self.net.pool(last)
        return pooled, self.net.head(pooled), last


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    rank = 0
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank = dist.get_rank()
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
    torch.manual_seed(args.seed)  # the same initial head on every process
    np.random.seed(args.seed + rank)  # different batches per process (the sampler uses NumPy)

    items = load_index(args.index, set(args.products) if args.products else None)
    if args.folds:
        train_items, held_out = fold_sides(items, args.folds, args.fold, args.split_seed)
    elif args.held_out_share:
        train_items, held_out = split(items, args.held_out_share, args.split_seed)
    else:  # the shipped model, its recipe chosen by cross-validation: no photo wasted
        train_items, held_out = items, []
    if args.keep_out:
        kept = {group_key(i) for i in load_index(args.keep_out)}
        held_out = held_out + [i for i in train_items if group_key(i) in kept]
        train_items = [i for i in train_items if group_key(i) not in kept]
    validation: list[LabelledPhoto] = []
    if args.validation_share:
        train_items, validation = split(train_items, args.validation_share, args.split_seed)
    if args.limit:
        train_items = first_per_class(train_items, args.limit)
    classes = sorted({class_name(i) for i in train_items})
    is_fake = torch.tensor([name.endswith("/fake") for name in classes], device=device).long()
    state_file = args.out / resume.STATE
    settings = resume.settings(vars(args))
    state = resume.load_state(state_file, settings) if args.resume else None
    started = time.perf_counter() - (state["seconds"] if state else 0.0)

    network, dim = ((BinaryClassifier, 2) if args.objective == BINARY
                    else (EmbeddingNet, args.dim))
    net = network.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim,
                                args.search if args.objective == METRIC else HEAD)
    if state:
        net.load_state_dict(state["net"])
    net = net.to(device).to(memory_format=torch.channels_last)
    augment = phone_augment(args.size)
    on_device = args.augment_on == "device" or (args.augment_on == "auto"
                                                and device.type == "cuda")
    dataset = PhotoSet.decode(train_items, classes, torch.nn.Identity() if on_device
                              else augment, args.size)
    model: torch.nn.Module = _Trainable(net, from_stem=args.frozen_stem)
    trained = list(net.features.parameters())
    stem: torch.nn.Module = torch.nn.Identity()
    if args.frozen_stem:
        stem = fold_batch_norm(copy.deepcopy(net.features[:PATCH_STAGE]))  # a frozen copy
        for parameter in net.features[:PATCH_STAGE].parameters():
            parameter.requires_grad_(False)
        trained = list(net.features[PATCH_STAGE:].parameters())
    gallery_loss = (gallery_score_loss(model, args.gallery_on, stem, dataset, train_items,
                                       args.size, device, state["memory"] if state else None)
                    if args.objective == METRIC and args.loss != MS else None)
    cell_loss = (CellScoreLoss(gallery_loss.is_fake, gallery_loss.product, gallery_loss.group)
                 if args.cell_loss and gallery_loss is not None else None)
    steps = max(1, len(dataset) // (args.batch_size * world))
    sampler = samplers.MPerClassSampler(dataset.labels, args.m_per_class, args.batch_size,
                                        length_before_new_iter=steps * args.batch_size)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=sampler,
                                         num_workers=args.workers, drop_last=True,
                                         persistent_workers=args.workers > 0)
    if world > 1:
        model = DistributedDataParallel(model, device_ids=[device.index]
                                        if device.index is not None else None)
    optimizer = torch.optim.AdamW([
        {"params": trained, "lr": args.lr / 10},
        {"params": net.head.parameters(), "lr": args.lr}], weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[args.lr / 10, args.lr], total_steps=steps * args.epochs,
        pct_start=0.1)
    history: list[dict[str, float]] = []
    first_epoch = 0
    if state:
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        sampler.labels = resume.restore_process(state["processes"], rank, world)
        history, first_epoch = state["history"], state["epoch"]
        if rank == 0:
            print(f"resuming {state_file} after epoch {first_epoch}/{args.epochs}", flush=True)
    loss_fn = losses.MultiSimilarityLoss(alpha=2, beta=50, base=0.5)
    miner = miners.MultiSimilarityMiner(epsilon=0.1)

    def objective(pooled: torch.Tensor, head: torch.Tensor, last: torch.Tensor,
                  labels: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        if args.objective == BINARY:
            return torch.nn.functional.cross_entropy(head, is_fake[labels])
        total = head.new_zeros(())
        projected = torch.nn.functional.normalize(head, dim=1)
        if args.loss != GALLERY:
            total = total + loss_fn(projected, labels, miner(projected, labels))
        if gallery_loss is not None:
            searched = projected if args.gallery_on == HEAD else pooled
            total = total + gallery_loss(torch.nn.functional.normalize(searched, dim=1), indices)
        if cell_loss is not None:
            total = total + args.cell_loss * cell_loss(last, indices)
        return total

    if rank == 0:
        args.out.mkdir(parents=True, exist_ok=True)

    trained_on = {weights.sha256_file(item.source) for item in train_items}
    # As a user would retype it: not the script's path on the machine that trained.
    command = shlex.join(["python", "-m", "training.train",
                          *(sys.argv[1:] if argv is None else argv)])

    def save(path: Path, **extra: object) -> None:
        net.save(path, {
            "command": command, "classes": classes, "train_photos": len(dataset),
            "processes": world, "device": device.type, "augmented_on": "device" if on_device
            else "workers", "seconds": time.perf_counter() - started,
            "history": history, **{k: str(v) for k, v in vars(args).items()}, **extra},
            trained_on=trained_on)

    for epoch in range(first_epoch, args.epochs):
        model.train()
        total, seen, tick = 0.0, 0, time.perf_counter()
        for images, labels, indices in loader:
            images = images.to(device, non_blocking=True)
            if on_device:  # each photo its own random steps, as a loader process would
                images = torch.stack([augment(image) for image in images])
            images = images.contiguous(memory_format=torch.channels_last)
            labels, indices = labels.to(device), indices.to(device)
            with torch.no_grad():
                images = stem(images)
            with torch.autocast(device.type, dtype=torch.bfloat16,
                                enabled=args.autocast == "bf16"):
                pooled, head, last = model(images)
            loss = objective(pooled.float(), head.float(), last, labels, indices)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(labels)
            seen += len(labels)
        rate = seen * world / (time.perf_counter() - tick)
        history.append({"epoch": epoch + 1, "loss": total / max(seen, 1), "images_per_s": rate})
        if rank == 0:
            print(f"epoch {epoch + 1}/{args.epochs}  loss {total / max(seen, 1):.4f}  "
                  f"{rate:.1f} img/s", flush=True)
            if args.save_every and (epoch + 1) % args.save_every == 0 and epoch + 1 < args.epochs:
                save(args.out / f"epoch-{epoch + 1}.safetensors")
        # Under DDP every process takes part.
        processes = resume.process_states([int(label) for label in sampler.labels])
        if rank == 0:
            resume.save_state(state_file, {
                "settings": settings, "epoch": epoch + 1, "history": history,
                "seconds": time.perf_counter() - started, "net": net.state_dict(),
                "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "memory": None if gallery_loss is None else gallery_loss.memory,
                "processes": processes})

    if rank == 0:
        held_groups = sorted({group_key(i) for i in held_out})
        (args.out / "split.json").write_text(json.dumps({
            "index": str(args.index), "held_out_share": args.held_out_share,
            "folds": args.folds, "fold": args.fold if args.folds else None,
            "split_seed": args.split_seed, "products": args.products,
            "kept_out": str(args.keep_out) if args.keep_out else None,
            "held_out_groups": held_groups,
            "validation_groups": sorted({group_key(i) for i in validation})},
            indent=1))
        final = args.out / "model.safetensors"
        # Without validation groups there is nothing to choose on: the side given is shipped.
        save(final, **({"embed_size": args.infer_sizes[0]}
                       if args.infer_sizes and not validation else {}))
        if validation:
            net.eval()
            chosen, figures = choose_input_size(final, train_items, validation,
                                                args.infer_sizes or infer_sizes(args.size))
            for size, row in figures.items():
                print(f"validation at {size} px: AUROC {row['auroc']:.3f}, fake recall "
                      f"{row['fake_recall_at_1pct']:.3f} @1 %, {row['fake_recall_at_5pct']:.3f} "
                      "@5 %", flush=True)
            save(final, embed_size=chosen, embed_size_validation=figures)
            print(f"inference side: {chosen} px", flush=True)
        print(f"saved {final} after {time.perf_counter() - started:.0f} s", flush=True)
    if world > 1:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
