# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The annotation page in real headless Chromium (Playwright) against the real server process.

Two annotators sign in and answer with the keyboard; the database and the export then hold exactly
those answers. In rating mode, typed scores become the expected pairwise preferences and the shortcuts
work from the score fields. A missing clip is said and refused; clips loop; the per-task instruction shows;
at 800x500 and 375x667 everything needed to answer is on screen (positions read from the page).
"""

from pathlib import Path

from conftest import make_pairs
import numpy as np
import pytest

from rlhf_preference.export import export_preferences, load_preferences
from rlhf_preference.pairs import write_pairs_file
from rlhf_preference.server_process import start_server
from rlhf_preference.store import LabelStore
from rlhf_recorder.video import write_mp4

CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason='Debian chromium (/usr/bin/chromium) is not installed')


def synthetic_clips(folder, pairs):
    """A short 320x240 H.264 clip per segment: a square moving at a speed that differs per clip."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(sorted({n for p in pairs for n in (p.clip_a, p.clip_b)})):
        frames = np.full((25, 240, 320, 3), 25, np.uint8)
        for t in range(25):
            x = int((t * (k + 1) * 5) % 280)
            frames[t, 100:140, x:x + 40] = (230, 110 + 10 * k % 120, 40)
        write_mp4(frames, folder / name, fps=10)


def serve(tmp_path, pairs, mode, annotators, min_annotations, *extra, instructions=None):
    synthetic_clips(tmp_path / 'clips', pairs)
    write_pairs_file(tmp_path / 'pairs.json', pairs, tmp_path / 'clips', instructions=instructions or {})
    return start_server(['--pairs', tmp_path / 'pairs.json', '--db', tmp_path / 'labels.sqlite', '--port', '0',
                         '--mode', mode, '--annotators', ','.join(annotators),
                         '--min-annotations-per-pair', min_annotations, *extra], tmp_path / 'server.log')


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, server, name, viewport=None):
    page = browser.new_context(viewport=viewport or {'width': 1280, 'height': 800}).new_page()
    page.goto(server.url + '/login')
    page.fill('#token', server.tokens[name])
    page.keyboard.press('Enter')
    page.wait_for_url('**/annotate')
    return page


def current_pair(page):
    page.wait_for_function("() => document.getElementById('app').dataset.pairId")
    return page.eval_on_selector('#app', 'el => el.dataset.pairId')


def wait_for_next(page, previous):
    page.wait_for_function("(prev) => document.getElementById('app').dataset.pairId !== prev "
                           "|| !document.getElementById('done').classList.contains('hidden')", arg=previous)


WATCH_LOOP = """() => {   // sets window.looped once the clip went back to its start by itself
  const video = document.querySelector('#slot-a video');
  let last = video.currentTime;
  video.addEventListener('timeupdate', () => {
    if (video.currentTime < last) window.looped = true;
    last = video.currentTime;
  });
}"""


def test_two_annotators_label_with_the_keyboard(tmp_path, browser):
    pairs = make_pairs(tmp_path, 4)
    instruction = 'Which arm placed the cube more gently?'
    server = serve(tmp_path, pairs, 'pairwise', ['alice', 'bob'], 2, instructions={'pick_place': instruction})
    try:
        pages = {name: sign_in(browser, server, name) for name in ('alice', 'bob')}
        # the clips really play in Chromium (H.264 decodes, both advance), at their size, and loop
        page = pages['alice']
        current_pair(page)
        page.wait_for_function("() => [...document.querySelectorAll('.video-slot video')]"
                               ".every(v => !v.error && v.readyState >= 2 && v.currentTime > 0)")
        assert page.eval_on_selector_all('.video-slot video', 'vs => vs.map(v => v.duration)') == [2.5, 2.5]
        assert page.eval_on_selector_all('.video-slot video', 'vs => vs.map(v => [v.videoWidth, v.videoHeight, '
                                                              'v.loop])') == [[320, 240, True]] * 2
        page.evaluate(WATCH_LOOP)
        page.wait_for_function('() => window.looped === true')
        assert page.inner_text('#instruction') == instruction and page.is_visible('#instruction')
        page.keyboard.press('r')              # replay is not an answer
        page.keyboard.press('+')              # nor is a speed change
        assert page.eval_on_selector('#speed', 'el => el.value') == '1.5'

        keys = {'alice': ['ArrowLeft', 'ArrowRight', 'e', 'ArrowLeft'], 'bob': ['d', 'ArrowDown', 'c', 'a']}
        meaning = {'ArrowLeft': 'left', 'a': 'left', 'ArrowRight': 'right', 'd': 'right', 'e': 'equal',
                   'ArrowDown': 'equal', 'c': 'cant_tell'}
        expected = set()
        for step in range(4):                 # the two annotators take turns, both pages open
            for name in ('alice', 'bob'):
                page = pages[name]
                pair_id = current_pair(page)
                page.keyboard.press(keys[name][step])
                wait_for_next(page, pair_id)
                expected.add((name, pair_id, meaning[keys[name][step]]))
        for page in pages.values():
            page.wait_for_selector('#done:not(.hidden)')
    finally:
        server.stop()

    store = LabelStore(tmp_path / 'labels.sqlite')
    labels = store.labels()
    assert {(label.annotator, label.pair_id, label.choice) for label in labels} == expected
    assert len(labels) == 8 and all(label.time_ms > 0 for label in labels)
    assert {p for _n, p, _c in expected} == {p.pair_id for p in pairs}       # every pair, by both annotators

    export_preferences(store, tmp_path / 'prefs.json', min_annotations_per_pair=1, agreement_threshold=0.0)
    value = {'left': 1.0, 'right': 0.0, 'equal': 0.5}
    want = {}
    for _name, pair_id, choice in expected:
        if choice in value:
            want.setdefault(pair_id, []).append(value[choice])
    got = {r.pair_id: (r.label, r.num_annotations) for r in load_preferences(tmp_path / 'prefs.json')}
    assert got == {p: (sum(v) / len(v), len(v)) for p, v in want.items()}


def test_rating_mode_gives_pairwise_preferences(tmp_path, browser):
    pairs = make_pairs(tmp_path, 3)
    server = serve(tmp_path, pairs, 'rating', ['carol'], 1)
    scores = [(80, 30), (55, 55)]
    rated = {}
    try:
        page = sign_in(browser, server, 'carol')
        for rating_a, rating_b in scores:
            pair_id = current_pair(page)
            page.wait_for_function("() => document.activeElement.id === 'rating-a'")
            page.keyboard.type(str(rating_a))
            page.keyboard.press('Tab')
            page.keyboard.type(str(rating_b))
            page.keyboard.press('Enter')
            wait_for_next(page, pair_id)
            pair = next(p for p in pairs if p.pair_id == pair_id)
            rated[pair.segment_a.segment_id] = rating_a
            rated[pair.segment_b.segment_id] = rating_b
        # the shortcuts work while a score field has the focus (it gets it for every pair)
        pair_id = current_pair(page)
        page.wait_for_function("() => document.activeElement.id === 'rating-a'")
        page.keyboard.type('4')
        replays = int(page.eval_on_selector('#app', 'el => el.dataset.replays'))
        page.keyboard.press('+')
        assert page.eval_on_selector('#speed', 'el => el.value') == '1.5'
        page.keyboard.press('-')
        page.keyboard.press('-')
        assert page.eval_on_selector('#speed', 'el => el.value') == '0.5'
        page.keyboard.press('r')
        page.keyboard.press(' ')
        assert int(page.eval_on_selector('#app', 'el => el.dataset.replays')) == replays + 2
        assert page.input_value('#rating-a') == '4'                   # no '+', '-', 'r' or ' ' typed into it
        page.keyboard.press('s')                                        # skip, from the score field
        wait_for_next(page, pair_id)
        skipped = pair_id
        page.wait_for_selector('#done:not(.hidden)')
    finally:
        server.stop()

    store = LabelStore(tmp_path / 'labels.sqlite', min_annotations_per_pair=1)
    assert sorted((label.rating_a, label.rating_b) for label in store.labels() if label.choice is None) == \
        sorted(scores)
    assert [(label.pair_id, label.choice) for label in store.labels() if label.choice] == [(skipped, 'skip')]
    export_preferences(store, tmp_path / 'prefs.json', min_annotations_per_pair=1, agreement_threshold=0.0)
    got = {(r.segment_a.segment_id, r.segment_b.segment_id): r.label for r in load_preferences(tmp_path / 'prefs.json')}
    ids = sorted(rated)
    want = {(x, y): 1.0 if rated[x] > rated[y] else 0.0 if rated[x] < rated[y] else 0.5
            for i, x in enumerate(ids) for y in ids[i + 1:]}
    assert len(want) == 6 and got == want


def test_a_missing_clip_is_said_on_the_page_and_only_a_skip_is_taken(tmp_path, browser):
    pairs = make_pairs(tmp_path, 1)
    synthetic_clips(tmp_path / 'clips', pairs)
    (tmp_path / 'clips' / pairs[0].clip_b).unlink()
    write_pairs_file(tmp_path / 'pairs.json', pairs, tmp_path / 'clips')
    server = start_server(['--pairs', tmp_path / 'pairs.json', '--clips', tmp_path / 'clips', '--db',
                           tmp_path / 'labels.sqlite', '--port', '0', '--annotators', 'alice'], tmp_path / 'server.log')
    try:
        assert 'warning: 1 clips missing' in open(server.log_path).read()
        page = sign_in(browser, server, 'alice')
        pair_id = current_pair(page)
        page.wait_for_selector('#clip-problem:not(.hidden)')
        assert f'Clip missing on the server ({pairs[0].clip_b})' in page.inner_text('#clip-problem')
        assert page.is_disabled('button[data-choice=left]') and not page.is_disabled('button[data-choice=skip]')
        page.keyboard.press('ArrowLeft')                              # refused on the page
        page.wait_for_function("() => document.getElementById('status').textContent.includes('cannot be judged')")
        assert LabelStore(tmp_path / 'labels.sqlite').labels() == []
        page.keyboard.press('s')
        wait_for_next(page, pair_id)
    finally:
        server.stop()
    assert [label.choice for label in LabelStore(tmp_path / 'labels.sqlite').labels()] == ['skip']


ON_SCREEN = """() => {
  const box = (el) => el.getBoundingClientRect();
  const inside = (el) => { const r = box(el); return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
                                               && r.bottom <= innerHeight && r.right <= innerWidth; };
  const [a, b] = [...document.querySelectorAll('.video-slot')].map(box);
  return {
    buttons: [...document.querySelectorAll('.answers button')].map(inside),
    signOut: inside(document.querySelector('nav button.link')),
    replay: inside(document.getElementById('replay')),
    clips: [a.width, a.height, b.width, b.height].map(Math.round),
    sideBySide: Math.abs(a.top - b.top) < 1 && a.right <= b.left,
    clipsOnScreen: [...document.querySelectorAll('.video-slot')].every(inside),
    horizontalScroll: document.documentElement.scrollWidth > innerWidth,
  };
}"""


@pytest.mark.parametrize('mode', ['pairwise', 'rating'])
def test_small_screens_show_everything_needed_to_answer(tmp_path, browser, mode):
    pairs = make_pairs(tmp_path, 2)
    server = serve(tmp_path, pairs, mode, ['alice'], 1)
    try:
        for width, height in [(800, 500), (375, 667), (667, 375)]:
            page = sign_in(browser, server, 'alice', viewport={'width': width, 'height': height})
            current_pair(page)
            page.wait_for_function("() => [...document.querySelectorAll('.video-slot video')]"
                                   ".every(v => v.readyState >= 2)")
            page.screenshot(path=str(tmp_path / f'{mode}_{width}x{height}.png'))   # for a person who looks
            layout = page.evaluate(ON_SCREEN)
            where = f'{mode} at {width}x{height}: {layout}'
            assert all(layout['buttons']) and layout['signOut'] and layout['replay'], where
            assert layout['sideBySide'] and layout['clipsOnScreen'] and not layout['horizontalScroll'], where
            assert min(layout['clips']) >= 100, where                 # clips a person can still see
            page.context.close()
    finally:
        server.stop()


def test_the_progress_count_is_the_statistics_page_count(tmp_path, browser):
    pairs = make_pairs(tmp_path, 4) + make_pairs(tmp_path, 1, prefix='g', gold='left')
    server = serve(tmp_path, pairs, 'pairwise', ['alice'], 1, '--gold-every', '2')
    try:
        page = sign_in(browser, server, 'alice')
        for key in ('s', 'a', 'd', 'a'):                               # a skip, the gold pair, two labels
            pair_id = current_pair(page)
            page.keyboard.press(key)
            wait_for_next(page, pair_id)
        page.wait_for_function("() => document.getElementById('progress').dataset.mine === '2'")
        page.goto(server.url + '/stats')
        row = page.locator('#annotator-table tbody tr', has_text='alice')
        assert row.locator('td').nth(1).inner_text() == '2'            # the "Labels" column
        assert row.locator('.gold-accuracy').inner_text() == '100%'    # her own gold result
    finally:
        server.stop()
