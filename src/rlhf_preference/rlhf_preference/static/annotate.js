// Copyright 2026 RLHF Robotics contributors. Apache-2.0.
// The annotation page: claims pairs, plays both clips in sync, sends answers, preloads the next pair.
'use strict';

(function () {
  const cfg = JSON.parse(document.getElementById('config').textContent);
  const $ = (id) => document.getElementById(id);
  const slots = [$('slot-a'), $('slot-b')];
  const speedSelect = $('speed');
  const statusLine = $('status');
  const rating = cfg.mode === 'rating';
  let current = null;   // the assignment on screen (with .videos)
  let upcoming = null;  // the preloaded next assignment
  let shownAt = 0;
  let busy = false;
  let pending = null;   // the preload request in flight
  let replays = 0;

  async function api(url, body) {
    const response = await fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': cfg.csrf},
      body: JSON.stringify(body),
    });
    if (response.status === 401) {   // signed out (or the database was replaced): sign in again
      window.location.assign('/login');
      throw new Error('signed out');
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {error: response.statusText}; }
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function say(text, kind) {
    statusLine.textContent = text;
    statusLine.className = 'status ' + (kind || '');
  }

  function makeVideo(src) {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.preload = 'auto';
    video.loop = true;   // a clip plays until the answer: people look more than once
    video.src = src;
    video.load();
    return video;
  }

  function withVideos(assignment) {
    if (assignment) {
      assignment.videos = [makeVideo(assignment.clip_a), makeVideo(assignment.clip_b)];
      assignment.videos.forEach((video) => video.addEventListener('error', () => {
        assignment.broken = true;
        if (current === assignment) showClipProblem(assignment);
      }));
      $('preload').replaceChildren(...assignment.videos);   // load now, show later
    }
    return assignment;
  }

  async function claim(exclude, progress) {
    const data = await api(cfg.claim_url, {exclude: exclude, progress: progress});
    if (data.progress) {
      const p = data.progress;
      $('progress').textContent = `you: ${p.mine} labelled · all: ${p.complete} of ${p.pairs} pairs complete`;
      $('progress').dataset.mine = p.mine;
    }
    return data.assignment;
  }

  function speed() { return parseFloat(speedSelect.value) || 1; }

  function replay() {
    if (!current) return;
    $('app').dataset.replays = ++replays;
    for (const video of current.videos) {
      video.pause();
      video.currentTime = 0;
      video.playbackRate = speed();
    }
    // start both together once both can play, so they stay side by side in time
    Promise.all(current.videos.map((v) => (v.readyState >= 3 ? Promise.resolve() : new Promise((resolve) => {
      v.addEventListener('canplay', resolve, {once: true});
    })))).then(() => current && current.videos.forEach((v) => v.play().catch(() => {})));
  }

  function keepInSync() {
    if (current) {
      const [a, b] = current.videos;
      // (two clips of one length loop together; of different lengths, each loops on its own)
      if (!a.paused && !b.paused && a.duration === b.duration && Math.abs(a.currentTime - b.currentTime) > 0.08) {
        b.currentTime = a.currentTime;
      }
    }
    window.requestAnimationFrame(keepInSync);
  }

  function show(assignment) {
    current = assignment;
    $('app').dataset.pairId = assignment ? assignment.pair_id : '';   // for people debugging and for tests
    if (!assignment) {
      slots.forEach((slot) => slot.replaceChildren());
      $('done').classList.remove('hidden');
      document.querySelectorAll('.clips, .playback, .answers').forEach((el) => el.classList.add('hidden'));
      $('task').textContent = '';
      return;
    }
    // a clicked button keeps focus, and Space/Enter would click it again on the next pair
    if (document.activeElement instanceof HTMLButtonElement) document.activeElement.blur();
    slots[0].replaceChildren(assignment.videos[0]);
    slots[1].replaceChildren(assignment.videos[1]);
    $('task').textContent = assignment.task.replace(/_/g, ' ');
    const instruction = cfg.instructions[assignment.task] || '';
    $('instruction').textContent = instruction;
    $('instruction').classList.toggle('hidden', !instruction);
    showClipProblem(assignment);
    if (rating) {
      for (const side of ['a', 'b']) {
        $('rating-' + side).value = '';
        $('range-' + side).value = 50;
      }
      $('rating-a').focus();
    }
    shownAt = performance.now();
    replay();
  }

  // A clip the server does not have (or the browser cannot play) cannot be judged: say so, allow only a skip.
  function showClipProblem(assignment) {
    const problem = assignment.missing.length
      ? `Clip missing on the server (${assignment.missing.join(', ')}): this pair cannot be judged. Skip it (S).`
      : assignment.broken ? 'A clip of this pair cannot be played: it cannot be judged. Skip it (S).' : '';
    $('clip-problem').textContent = problem;
    $('clip-problem').classList.toggle('hidden', !problem);
    document.querySelectorAll('.answers button, .rating input').forEach((el) => {
      el.disabled = Boolean(problem) && el.dataset.choice !== 'skip';
    });
  }

  function judgeable() {
    return current && !current.missing.length && !current.broken;
  }

  function preloadNext() {
    upcoming = null;
    if (!current) return;
    pending = claim([current.assignment_id], true).then((next) => { upcoming = withVideos(next); })
      .catch((err) => say('Could not load the next pair: ' + err.message, 'err'))
      .finally(() => { pending = null; });
  }

  async function answer(fields) {
    if (busy || !current) return;
    if (fields.choice !== 'skip' && !judgeable()) {
      say('This pair cannot be judged (a clip is missing): skip it with S.', 'err');
      return;
    }
    busy = true;
    const sent = current;
    try {
      const body = Object.assign({assignment_id: sent.assignment_id, nonce: sent.nonce,
                                  time_ms: Math.round(performance.now() - shownAt)}, fields);
      const result = await api(cfg.label_url, body);
      say(result.replayed ? 'Already saved (nothing changed)' : 'Saved ✓', 'ok');
      if (pending) await pending;
      const next = upcoming || withVideos(await claim([], true));
      show(next);
      preloadNext();
    } catch (err) {
      say('Not saved: ' + err.message, 'err');
    } finally {
      busy = false;
    }
  }

  function submitRatings() {
    const values = ['a', 'b'].map((side) => Number($('rating-' + side).value));
    if (!values.every((v) => Number.isInteger(v) && v >= 1 && v <= 100)) {
      say('Give both clips a score from 1 to 100.', 'err');
      return;
    }
    answer({rating_a: values[0], rating_b: values[1]});
  }

  function setSpeed(step) {
    const options = Array.from(speedSelect.options);
    const i = Math.min(options.length - 1, Math.max(0, speedSelect.selectedIndex + step));
    speedSelect.selectedIndex = i;
    if (current) current.videos.forEach((v) => { v.playbackRate = speed(); });
  }

  document.querySelectorAll('button[data-choice]').forEach((button) => {
    button.addEventListener('click', () => answer({choice: button.dataset.choice}));
  });
  $('replay').addEventListener('click', replay);
  speedSelect.addEventListener('change', () => setSpeed(0));
  if (rating) {
    $('submit-ratings').addEventListener('click', submitRatings);
    for (const side of ['a', 'b']) {
      const number = $('rating-' + side);
      const range = $('range-' + side);
      range.addEventListener('input', () => { number.value = range.value; });
      number.addEventListener('input', () => { if (number.value) range.value = number.value; });
    }
  }

  const keyToChoice = {};
  for (const [choice, keys] of Object.entries(cfg.keys)) keys.forEach((k) => { keyToChoice[k] = choice; });

  // In a score field, digits and editing keys type; every other shortcut still works there (S, R, Space, -, +).
  const EDITING = new Set(['Backspace', 'Delete', 'ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End',
                           'Tab']);

  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const inScore = event.target instanceof HTMLInputElement && event.target.type === 'number';
    if (event.key === 'Enter' && rating) { event.preventDefault(); submitRatings(); return; }
    if (inScore && (/^[0-9]$/.test(event.key) || EDITING.has(event.key))) return;   // typing a score
    if (event.target instanceof HTMLSelectElement && event.key.startsWith('Arrow')) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === 'r' || key === ' ') { event.preventDefault(); replay(); return; }
    if (key === '-') { event.preventDefault(); setSpeed(-1); return; }
    if (key === '+' || key === '=') { event.preventDefault(); setSpeed(1); return; }
    if (rating) {
      if (key === 's') { event.preventDefault(); answer({choice: 'skip'}); }
      else if (inScore && key.length === 1) event.preventDefault();   // no letters in a score
      return;
    }
    if (keyToChoice[key]) {
      event.preventDefault();
      answer({choice: keyToChoice[key]});
    }
  });

  keepInSync();
  claim([], true).then((first) => {
    show(withVideos(first));
    preloadNext();
  }).catch((err) => say('Could not load a pair: ' + err.message, 'err'));
})();
