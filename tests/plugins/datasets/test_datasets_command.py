"""``nasplat datasets``: every dataset with its splits, sizes and attributes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from nasplat.cli.datasets import datasets_command


def test_lists_every_bundled_dataset(runner: CliRunner) -> None:
    result = runner.invoke(datasets_command, [])
    assert result.exit_code == 0, result.output
    out = result.output
    for name in ("synthetic_person", "synthetic_sequence", "mnist", "fashion_mnist",
                 "text_corpus"):
        assert f"\n{name} " in f"\n{out}"
    assert "splits: train 2000, validation 500, test 500, ood 300" in out
    assert "attributes: group (tone_1 .. tone_10, 10 values); condition (well_lit, poorly_lit)" \
        in out
    assert "sizes unknown: dataset 'mnist' needs its files" in out


def test_shows_one_dataset_with_options(runner: CliRunner, tmp_path: Path) -> None:
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.txt").write_text("a b c d e f\n" * 4)
    result = runner.invoke(datasets_command, ["text_corpus", "-o", f"path={tmp_path}",
                                              "-o", "seq_len=3"])
    assert result.exit_code == 0, result.output
    # 4 lines of 7 words (with <eos>) = 28 words → (28 − 1) // 3 = 9 windows
    assert "splits: train 9, validation 9, test 9" in result.output
    assert "7 tokens" in result.output and "seq_len = 35" in result.output


def test_a_bad_option_is_a_config_error(runner: CliRunner) -> None:
    result = runner.invoke(datasets_command, ["synthetic_person", "-o", "image_size"])
    assert "write it as KEY=VALUE" in str(result.exception)
