"""The CLI contract others script against: commands, JSON fields, exit codes, one-line errors."""

from __future__ import annotations

import getpass
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import new_database
from tests.support import assert_one_line_error, cli, synthetic_photo, write_photo_folder

ENV_KEYS = ("photo", "brand", "product", "verdict", "p_counterfeit", "nearest_genuine",
            "nearest_fake", "model")


def built(tmp_path_factory: pytest.TempPathFactory, gallery: str | Path) -> str | Path:
    folder = write_photo_folder(tmp_path_factory.mktemp("cli-photos"), per_cell=12, seed=3)
    result = cli("import", folder, "--gallery", gallery, "--brand", "acme", "--json")
    report = json.loads(result.stdout)
    assert len(report["added"]) == 48 and report["failed"] == []
    return gallery


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gallery folder built by the CLI (for the tests that open its SQLite files)."""
    return Path(built(tmp_path_factory, tmp_path_factory.mktemp("cli") / "g"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cli_gallery(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> str | Path:
    """A gallery built by the CLI, on each backend: the contract is the same on both."""
    if request.param == "sqlite":
        return request.getfixturevalue("cli_folder")
    url = new_database(request.getfixturevalue("postgres"),
                       tmp_path_factory.mktemp("cli-pg") / "g")
    return built(tmp_path_factory, url)


def test_inspect_json_lines(cli_gallery: str | Path, tmp_path: Path) -> None:
    photos = []
    for i, (product, label) in enumerate([("boot", "fake"), ("bag", "genuine")]):
        photos.append(tmp_path / f"{i}.jpg")
        synthetic_photo(product, label, 77_000 + i).save(photos[-1])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\x00" * 10)
    result = cli("inspect", photos[0], broken, photos[1], "--gallery", cli_gallery,
                 "--brand", "acme", "--json", check=False)
    assert result.returncode == 1  # one photo failed; the others were still inspected
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3 and set(lines[1]) == {"photo", "error", "inspection"}
    assert lines[1]["photo"] == str(broken)
    first, last = lines[0], lines[2]
    # Each photo is an inspection recorded under the OS user, and audited as done from the CLI.
    assert len({line["inspection"] for line in lines}) == 3
    audit = [json.loads(line) for line in cli("audit", "list", "--json", "--gallery",
                                              cli_gallery).stdout.splitlines()]
    inspections = [e for e in audit if e["action"] == "inspection"]
    assert [e["target"] for e in inspections[-3:]] == [line["inspection"] for line in lines]
    assert {(e["via"], e["actor"]) for e in inspections} == {("cli", getpass.getuser())}
    assert cli("audit", "verify", "--gallery", cli_gallery).stdout.startswith(
        "audit trail intact")
    assert set(ENV_KEYS) <= set(first)
    assert first["verdict"] == "counterfeit" and first["product"] == "boot"
    assert last["verdict"] == "genuine" and last["product"] == "bag"
    assert set(first["nearest_fake"][0]) >= {"ref", "similarity"}
    assert first["model"].startswith("mobilenet_v2@b03531047ffacf1e")
    assert "broken.jpg" in result.stderr and "Traceback" not in result.stderr


def labelled_queries(folder: Path, labelled_otherwise: frozenset[int] = frozenset()) -> Path:
    """An index of 8 photos like the gallery's (two per product and label), numbered
    ``0.png`` to ``7.png``; those in ``labelled_otherwise`` carry the other label."""
    rows = ["path,label,product"]
    for i, (product, label) in enumerate([(p, lab) for p in ("boot", "bag")
                                          for lab in ("genuine", "fake")] * 2):
        synthetic_photo(product, label, 88_000 + i).save(folder / f"{i}.png")
        other = "fake" if label == "genuine" else "genuine"
        rows.append(f"{i}.png,{other if i in labelled_otherwise else label},{product}")
    (folder / "q.csv").write_text("\n".join(rows) + "\n")
    return folder / "q.csv"


def test_evaluate_prints_the_figures(cli_gallery: str | Path, tmp_path: Path) -> None:
    labelled_queries(tmp_path)
    data = json.loads(cli("evaluate", "--index", tmp_path / "q.csv", "--gallery", cli_gallery,
                          "--brand", "acme", "--json").stdout)
    assert {"auroc", "accuracy", "fake_recall", "genuine_flagged", "inconclusive"} <= set(data)
    assert data["photos"] == 8 and data["auroc"] == 1.0 and data["accuracy"] == 1.0
    assert 0.0 <= data["ece"] <= 1.0 and data["reliability"]
    # Each photo its own group (the index has no dup_group): 8 groups, every draw separable.
    assert data["groups"] == 8 and data["ci95"]["auroc"] == [1.0, 1.0]
    printed = cli("evaluate", "--index", tmp_path / "q.csv", "--gallery", cli_gallery,
                  "--brand", "acme").stdout
    assert "95 % intervals over the 8 photo groups" in printed and "auroc 1.000-1.000" in printed


def test_evaluate_names_the_photos_it_judged_wrongly(cli_gallery: str | Path,
                                                     tmp_path: Path) -> None:
    # The same kind of photos as above, which the gallery judges rightly, two of them labelled
    # the other way: exactly those two are named, each under the error it would be.
    labelled_queries(tmp_path, frozenset({0, 3}))  # 0 is genuine, 3 a fake
    data = json.loads(cli("evaluate", "--index", tmp_path / "q.csv", "--gallery", cli_gallery,
                          "--brand", "acme", "--json").stdout)
    assert [Path(photo).name for photo in data["photo"]] == [f"{i}.png" for i in range(8)]
    verdicts = dict(zip((Path(p).name for p in data["photo"]), data["verdict"], strict=True))
    assert verdicts["0.png"] == "genuine" and verdicts["3.png"] == "counterfeit"
    assert data["fake_cleared"] == 1 / 4 and data["genuine_flagged"] == 1 / 4
    printed = cli("evaluate", "--index", tmp_path / "q.csv", "--gallery", cli_gallery,
                  "--brand", "acme").stdout
    flagged = printed.split("genuine photos called counterfeit: ")[1].splitlines()
    cleared = printed.split("fakes called genuine: ")[1].splitlines()
    assert flagged[0] == "1" and Path(flagged[1].strip()).name == "3.png"
    assert cleared[0] == "1" and Path(cleared[1].strip()).name == "0.png"
    assert len(cleared) == 2  # nothing else listed


def test_gallery_info_list_remove(cli_gallery: str | Path, tmp_path: Path) -> None:
    info = json.loads(cli("gallery", "info", "--gallery", cli_gallery, "--json").stdout)
    assert info["brands"]["acme"]["boot"] == {"genuine": 12, "fake": 12}
    refs = [json.loads(line) for line in cli("gallery", "list", "--gallery", cli_gallery,
                                             "--product", "bag", "--json").stdout.splitlines()]
    assert len(refs) == 24 and {r["product"] for r in refs} == {"bag"}
    noted = cli("gallery", "note", refs[1]["ref"], "Genuine: 8 stitches on the heel tab",
                "--gallery", cli_gallery)
    assert "note set" in noted.stdout
    again = json.loads(cli("gallery", "list", "--gallery", cli_gallery, "--product", "bag",
                           "--json").stdout.splitlines()[1])
    assert again["note"] == "Genuine: 8 stitches on the heel tab"
    missing_ref = cli("gallery", "note", 99_999, "x", "--gallery", cli_gallery, check=False)
    assert_one_line_error(missing_ref, "no reference with id 99999")
    removed = cli("gallery", "remove", refs[0]["ref"], "--gallery", cli_gallery)
    assert "removed 1 of 1" in removed.stdout
    missing = cli("gallery", "remove", refs[0]["ref"], "--gallery", cli_gallery, check=False)
    assert missing.returncode == 1
    info = json.loads(cli("gallery", "info", "--gallery", cli_gallery, "--json").stdout)
    bag = info["brands"]["acme"]["bag"]
    assert bag["genuine"] + bag["fake"] == 23
    point = json.loads(cli("gallery", "operating-point", "--brand", "acme",
                           "--max-genuine-flagged", "0.05", "--gallery", cli_gallery).stdout)
    assert point["max_genuine_flagged"] == 0.05
    assert 0.0 <= point["modes"]["contrast"]["expected_fake_recall"] <= 1.0


@pytest.mark.parametrize(("args", "fragment"), [
    (["inspect"], "the following arguments are required"),
    (["frobnicate"], "invalid choice"),
    (["inspect", "x.jpg", "--gallery", "{missing}", "--brand", "b"], "no gallery at"),
    (["inspect", "x.jpg", "--gallery", "{gallery}", "--brand", "nope"], "unknown brand 'nope'"),
    (["import", "--gallery", "{gallery}", "--brand", "b"], "give either a folder or --index"),
    (["import", "--index", "{missing}.csv", "--gallery", "{gallery}", "--brand", "b"],
     "file not found"),
    (["evaluate", "--index", "{missing}.csv", "--gallery", "{gallery}", "--brand", "acme"],
     "file not found"),
])
def test_wrong_input_gives_one_clear_line(args: list[str], fragment: str, cli_gallery: str | Path,
                                          tmp_path: Path) -> None:
    args = [a.format(missing=tmp_path / "missing", gallery=cli_gallery) for a in args]
    assert_one_line_error(cli(*args, check=False), fragment)


def test_inspect_without_a_brand_proposes_one(cli_gallery: str | Path, tmp_path: Path) -> None:
    photo = tmp_path / "unnamed.jpg"
    synthetic_photo("boot", "fake", 77_100).save(photo)
    result = cli("inspect", photo, "--gallery", cli_gallery, "--json")
    line = json.loads(result.stdout)
    assert line["brand"] == "acme" and line["brand_proposed"] is True
    candidates = line["item_candidates"]
    assert candidates[0] == {"brand": "acme", "product": "boot",
                             "similarity": candidates[0]["similarity"]}
    assert [c["similarity"] for c in candidates] == sorted(
        (c["similarity"] for c in candidates), reverse=True)
    assert line["verdict"] == "counterfeit" and line["product"] == "boot"
    text = cli("inspect", photo, "--gallery", cli_gallery).stdout
    assert "brand proposed: acme/boot (" in text
    assert_one_line_error(cli("inspect", photo, "--gallery", cli_gallery, "--product", "boot",
                              check=False), "--product needs --brand")


def test_inspect_of_a_non_image_fails_cleanly(cli_gallery: str | Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    result = cli("inspect", text, "--gallery", cli_gallery, "--brand", "acme", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert_one_line_error(result, "not an image")


def test_missing_or_wrong_weights_name_the_fetch_command(cli_gallery: str | Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    photo = tmp_path / "p.jpg"
    synthetic_photo("boot", "fake", 5).save(photo)
    monkeypatch.setenv("IPR_VISION_WEIGHTS_DIR", str(tmp_path / "weights"))
    result = cli("inspect", photo, "--gallery", cli_gallery, "--brand", "acme", check=False)
    assert_one_line_error(result, "ImageNet weights not found")
    assert "ipr-vision fetch-weights" in result.stderr
    result = cli("inspect", photo, "--gallery", cli_gallery, "--brand", "acme", check=False,
                 model="finetuned")
    fallback, error = result.stderr.strip().splitlines()  # no fine-tuned model: ImageNet's
    assert "fine-tuned weights not found" in fallback and "Falling back to ImageNet" in fallback
    assert "ImageNet weights not found" in error and "ipr-vision fetch-weights" in error
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (tmp_path / "weights" / "imagenet").mkdir(parents=True)
    (tmp_path / "weights" / "imagenet" / "mobilenet_v2-b0353104.pth").write_bytes(b"tampered")
    result = cli("inspect", photo, "--gallery", cli_gallery, "--brand", "acme", check=False)
    assert_one_line_error(result, "expected b03531047ffacf1e")
    assert "ipr-vision fetch-weights" in result.stderr


def test_one_bad_path_never_drops_the_batch(cli_gallery: str | Path, tmp_path: Path) -> None:
    """A link loop, a path through a file and a name too long are each one photo's error:
    the good photos of the same import and inspection go on, and the exit status is 1."""
    rows = ["path,label,product"]
    for i in range(4):
        synthetic_photo("boot", "genuine", 66_000 + i).save(tmp_path / f"good{i}.png")
        rows.append(f"good{i}.png,genuine,boot")
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    (tmp_path / "file.jpg").write_bytes(b"x")
    bad = ["loop.jpg", "file.jpg/x.jpg", "n" * 300 + ".jpg"]
    rows[1:1] = [f"{name},genuine,boot" for name in bad]
    (tmp_path / "index.csv").write_text("\n".join(rows) + "\n")
    result = cli("import", "--index", tmp_path / "index.csv", "--gallery", tmp_path / "g",
                 "--brand", "acme", "--json", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert len(report["added"]) == 4
    assert sorted(Path(f["file"]).name for f in report["failed"]) == sorted(
        Path(name).name for name in bad)
    result = cli("inspect", tmp_path / "loop.jpg", tmp_path / "good0.png", "--gallery",
                 cli_gallery, "--brand", "acme", "--json", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["error"] == "cannot be read (Too many levels of symbolic links)"
    assert lines[1]["verdict"] in ("genuine", "counterfeit", "inconclusive")


def test_an_empty_brand_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = write_photo_folder(tmp_path / "photos", per_cell=1)
    assert_one_line_error(cli("import", folder, "--gallery", tmp_path / "g", "--brand", "",
                              check=False), "a brand needs a name")
    assert_one_line_error(cli("import", folder, "--gallery", tmp_path / "g", "--brand",
                              "nike/../../x", check=False), "no '/'")


def test_junk_references_are_refused_unless_allowed_and_then_audited(tmp_path: Path) -> None:
    folder = write_photo_folder(tmp_path / "photos", per_cell=1)
    junk = folder / "boot" / "genuine"
    Image.new("RGB", (1, 1), (255, 0, 0)).save(junk / "dot.png")
    Image.new("RGB", (8, 8), (90, 90, 90)).save(junk / "grey.png")
    Image.new("RGB", (640, 640), (90, 90, 90)).save(junk / "blank.png")  # big, but no detail
    result = cli("import", folder, "--gallery", tmp_path / "g", "--brand", "acme", "--json",
                 check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    refused = {Path(f["file"]).name: f["reason"] for f in report["failed"]}
    assert set(refused) == {"dot.png", "grey.png", "blank.png"}
    assert "only 1x1 pixels" in refused["dot.png"] and "blurred" in refused["blank.png"]
    assert all("--allow-poor-quality" in reason for reason in refused.values())
    assert len(report["added"]) == 4

    result = cli("import", folder, "--gallery", tmp_path / "g", "--brand", "acme", "--json",
                 "--allow-poor-quality")
    report = json.loads(result.stdout)
    allowed = {Path(f["file"]).name: f["ref"] for f in report["poor_quality_allowed"]}
    assert set(allowed) == {"dot.png", "grey.png", "blank.png"}
    [entry] = [json.loads(line) for line in cli("audit", "list", "--json", "--brand", "acme",
                                                "--gallery", tmp_path / "g").stdout.splitlines()
               if json.loads(line)["action"] == "references_add"][-1:]
    assert sorted(ref for ref, _ in entry["detail"]["poor_quality_allowed"]) == sorted(
        allowed.values())


def test_audit_verify_finds_a_row_edited_with_sqlite3(cli_folder: Path, tmp_path: Path) -> None:
    gallery = tmp_path / "g"
    shutil.copytree(cli_folder, gallery)
    cli("gallery", "note", "3", "stitching: 12 per inch", "--gallery", gallery)
    cli("gallery", "remove", "4", "--reason", "duplicate shot", "--gallery", gallery)
    entries = [json.loads(line) for line in cli("audit", "list", "--json", "--gallery",
                                                gallery).stdout.splitlines()]
    assert [e["action"] for e in entries[-2:]] == ["note", "references_remove"]
    assert entries[-1]["detail"] == {"reason": "duplicate shot", "references": [4]}
    assert cli("audit", "verify", "--gallery", gallery).returncode == 0
    note = entries[-2]["seq"]
    with sqlite3.connect(gallery / "audit.sqlite") as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET detail = replace(detail, '12', '10') WHERE seq = ?",
                   (note,))
    result = cli("audit", "verify", "--gallery", gallery, check=False)
    assert result.returncode == 1
    assert f"entry {note} was altered" in result.stdout
    assert f"after {note - 1} sound entries" in result.stdout


def test_keys_and_packages_from_the_command_line(cli_gallery: str | Path, tmp_path: Path) -> None:
    """A right holder makes a key and exports; customs trusts the key and imports; a tampered
    package is refused with one line and exit 2."""
    made = cli("keys", "new", "--out", tmp_path / "keys", "--name", "acme").stdout
    fingerprint = made.split("fingerprint ")[1].split()[0]
    assert (tmp_path / "keys" / "acme.key").is_file() and len(fingerprint) == 64
    export = json.loads(cli("package", "export", "--brand", "acme", "--gallery", cli_gallery,
                            "--key", tmp_path / "keys" / "acme.key", "--out",
                            tmp_path / "p1.zip", "--json").stdout)
    assert {"path", "sequence", "hash", "key", "bytes", "references"} <= set(export)
    assert export["sequence"] == 1 and export["key"] == fingerprint
    customs = tmp_path / "customs"  # a new installation: its gallery is made on first use
    untrusted = cli("package", "import", tmp_path / "p1.zip", "--gallery", customs / "g",
                    check=False)
    assert_one_line_error(untrusted, "does not trust for brand 'acme'")
    trusted = cli("keys", "trust", tmp_path / "keys" / "acme.pub", "--brand", "acme",
                  "--name", "Acme Corp", "--gallery", customs / "g").stdout
    assert fingerprint in trusted
    listed = json.loads(cli("keys", "list", "--json", "--gallery", customs / "g").stdout)
    assert listed["fingerprint"] == fingerprint and listed["revoked_at"] is None
    report = json.loads(cli("package", "import", tmp_path / "p1.zip", "--gallery",
                            customs / "g", "--json").stdout)
    assert report["status"] == "applied" and len(report["added"]) == export["references"]
    assert export["references"] == len(cli("gallery", "list", "--gallery", cli_gallery,
                                           "--brand", "acme").stdout.splitlines())
    again = cli("package", "import", tmp_path / "p1.zip", "--gallery", customs / "g").stdout
    assert "already imported" in again
    refs = [json.loads(line) for line in cli("gallery", "list", "--json", "--gallery",
                                             customs / "g").stdout.splitlines()]
    assert {r["origin"]["sequence"] for r in refs} == {1}
    with zipfile.ZipFile(tmp_path / "p1.zip") as source, \
            zipfile.ZipFile(tmp_path / "bad.zip", "w") as bad:
        for info in source.infolist():
            data = source.read(info)
            bad.writestr(info.filename, data.replace(b'"genuine"', b'"fake"', 1)
                         if info.filename == "manifest.json" else data)
    assert_one_line_error(cli("package", "import", tmp_path / "bad.zip", "--gallery",
                              customs / "g", check=False), "signature does not match")
    history = cli("package", "list", "--brand", "acme", "--gallery", customs / "g").stdout
    assert history.startswith("imported\t#1\t")
    assert cli("keys", "revoke", fingerprint, "--brand", "acme", "--reason", "rotated",
               "--gallery", customs / "g").returncode == 0
    audit = [json.loads(line)["action"] for line in cli(
        "audit", "list", "--json", "--gallery", customs / "g").stdout.splitlines()]
    assert audit.count("package_import") == 1 and audit.count("package_refused") == 2
    assert "key_trust" in audit and "key_revoke" in audit


@pytest.mark.slow  # six commands, each loading both models, one embedding the brand again
def test_gallery_model_compares_and_chooses_a_brands_model(tmp_path: Path) -> None:
    """ImageNet is the gallery's model here; the brand compares it with the fine-tuned one,
    which costs an embedding pass only when asked, and chooses it."""
    gallery = tmp_path / "g"
    folder = write_photo_folder(tmp_path / "photos", per_cell=4, seed=11)
    cli("import", folder, "--gallery", gallery, "--brand", "acme")
    shown = cli("gallery", "model", "--brand", "acme", "--gallery", gallery).stdout
    assert "* imagenet  mobilenet_v2@" in shown and "[default]" in shown
    assert "16 reference(s) not embedded with it" in shown  # the fine-tuned model, not asked
    refused = cli("gallery", "model", "--brand", "acme", "--set", "resnet", "--gallery",
                  gallery, check=False)
    assert_one_line_error(refused, "no installed model 'resnet'")
    chosen = cli("gallery", "model", "--brand", "acme", "--set", "finetuned", "--json",
                 "--gallery", gallery)
    assert "16 reference(s) embedded with it first" in chosen.stderr
    comparison = json.loads(chosen.stdout)
    models = {m["name"]: m for m in comparison["models"]}
    assert comparison["choice"] == "finetuned" and models["finetuned"]["chosen"]
    assert models["finetuned"]["missing"] == 0 and "contrast" in models["imagenet"]["modes"]
    # Both hold the brand's vectors now: the one left is set against the one in use.
    versus = models["imagenet"]["versus_in_use"]
    assert models["finetuned"]["versus_in_use"] is None and versus["references"] == 16
    low, high = versus["ci95"]
    assert low <= versus["auroc"] <= high
    assert versus["verdict"] in ("better", "worse", "no_clear_difference")
    shown = cli("gallery", "model", "--brand", "acme", "--gallery", gallery).stdout
    assert f"against the model in use: AUROC {versus['auroc']:+.3f} (95 % interval " in shown
    photo = folder / "boot" / "fake" / "000.jpg"
    inspected = json.loads(cli("inspect", photo, "--gallery", gallery, "--brand", "acme",
                               "--json").stdout)
    assert inspected["model"] == models["finetuned"]["model_id"]
    info = json.loads(cli("gallery", "info", "--gallery", gallery, "--json").stdout)
    assert info["model"] == models["imagenet"]["model_id"]  # the gallery's default, as before
    assert info["brand_models"]["acme"]["choice"] == "finetuned"
    audit = cli("audit", "list", "--brand", "acme", "--json", "--gallery", gallery).stdout
    assert '"brand_model"' in audit
