# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Per-task instructions travel from make_pairs through the pairs file into the database the page reads."""

import json

from episodes_helper import write_episode
import numpy as np
import pytest

from rlhf_preference.make_pairs import main as make_pairs_main
from rlhf_preference.pairs import PairsFileError, load_instructions
from rlhf_preference.server import main as server_main
from rlhf_preference.store import LabelStore


def test_make_pairs_writes_the_instruction_and_the_server_imports_it(tmp_path, capsys):
    write_episode(tmp_path / 'data', 'fast', np.linspace(0.0, 1.0, 50))
    write_episode(tmp_path / 'data', 'slow', np.linspace(0.0, 0.2, 50))
    out = tmp_path / 'pairs.json'
    text = 'Which arm reached the green dot more precisely?'
    assert make_pairs_main(['--data', str(tmp_path / 'data'), '--output', str(out), '--num-pairs', '2',
                            '--instruction', text]) == 0
    assert load_instructions(out) == {'pick_place': text}
    # the test episodes' camera is small: the server refuses such clips unless told otherwise (exit 2 before serving)
    assert server_main(['--pairs', str(out), '--db', str(tmp_path / 'l.sqlite'), '--annotators', 'a']) == 2
    assert 'people cannot judge clips smaller than 320x240' in capsys.readouterr().err
    assert LabelStore(tmp_path / 'l.sqlite').instructions() == {}


def test_bad_instructions_name_the_file_and_field(tmp_path):
    path = tmp_path / 'pairs.json'
    path.write_text(json.dumps({'format': 'rlhf_preference.pairs', 'version': 1, 'instructions': ['judge']}))
    with pytest.raises(PairsFileError, match='pairs.json: instructions: expected an object of task name -> text'):
        load_instructions(path)
    path.write_text(json.dumps({'format': 'rlhf_preference.pairs', 'version': 1}))
    assert load_instructions(path) == {}
