// The signing viewer of `signllm demo` (signllm_hf/demo.py): a 3D skeleton on a 2D canvas that you turn by
// dragging, with each hand drawn again, zoomed, beside it. Runs as a gr.HTML component's js_on_load: `element` is
// the component, `props.value` the pose stream text, `props.bones` the skeleton's [parent, child, group] bones,
// `props.colors` a colour per group, and `watch` calls back whenever the value changes. No network, no library.
//
// The pose stream text: a header line `#signllm-pose {json}`, then one `F x0 y0 z0 x1 y1 z1 ...` line per frame
// (50 joints, the data's coordinates, y down), and `E length` once generation is over (the clip's final length,
// which may drop a few frames streamed past its end). An update only appends lines, so Gradio sends only those.
const HEADER = "#signllm-pose ";
const HANDS = [
  { name: "left hand", first: 8, group: 1 },
  { name: "right hand", first: 29, group: 2 },
];
const canvasOf = (name) => element.querySelector(`canvas.signllm-${name}`);
const state = {
  header: null, meta: {}, frames: [], parsed: 0, seen: "", done: false,
  radius: 0, center: null, handRadius: [0, 0],
  yaw: -0.3, pitch: 0.1, playing: true, index: 0, clock: 0, drawn: "",
};

function reset(header) {
  Object.assign(state, {
    header, frames: [], parsed: header.length + 1, seen: "", done: false, radius: 0, center: null,
    handRadius: [0, 0], playing: true, index: 0, clock: performance.now(), drawn: "",
  });
  try { state.meta = JSON.parse(header.slice(HEADER.length)); } catch (error) { state.meta = {}; }
}

function meanOf(frame, first, count) {
  const mean = [0, 0, 0];
  for (let j = first; j < first + count; j++) for (let c = 0; c < 3; c++) mean[c] += frame[3 * j + c] / count;
  return mean;
}

function farthest(frame, first, count, center) {
  let best = 0;
  for (let j = first; j < first + count; j++) {
    const dx = frame[3 * j] - center[0], dy = frame[3 * j + 1] - center[1], dz = frame[3 * j + 2] - center[2];
    best = Math.max(best, Math.hypot(dx, dy, dz));
  }
  return best;
}

// Read the lines that arrived since the last call; a new header starts a new clip.
function sync() {
  const text = props.value || "";
  const firstBreak = text.indexOf("\n");
  const header = firstBreak < 0 ? text : text.slice(0, firstBreak);
  if (!header.startsWith(HEADER)) { reset(""); state.header = null; publish(); return; }
  // A new clip, or an update that rewrote what was read (not only appended): read it all again.
  if (header !== state.header || !text.startsWith(state.seen)) reset(header);
  const end = text.lastIndexOf("\n");
  if (end >= state.parsed) {
    for (const line of text.slice(state.parsed, end).split("\n")) {
      if (line.startsWith("F ")) {
        const frame = Float32Array.from(line.slice(2).trim().split(/\s+/), Number);
        // The view grows to hold every frame so far (never shrinks, so the signer does not jump).
        if (!state.center) state.center = meanOf(frame, 0, 8);
        state.radius = Math.max(state.radius, farthest(frame, 0, 50, state.center));
        HANDS.forEach((hand, h) => {
          state.handRadius[h] = Math.max(state.handRadius[h], farthest(frame, hand.first, 21, meanOf(frame, hand.first, 21)));
        });
        state.frames.push(frame);
      } else if (line.startsWith("E ")) {
        state.frames.length = Math.min(state.frames.length, parseInt(line.slice(2), 10));
        state.done = true;
        state.clock = performance.now();
      }
    }
    state.parsed = end + 1;
    state.seen = text.slice(0, state.parsed);
  }
  publish();
}

// What the page (and the browser test) can read: the frames received so far and whether the clip is complete.
function publish() {
  element.setAttribute("data-signllm-frames", String(state.frames.length));
  element.setAttribute("data-signllm-done", state.done ? "1" : "0");
  const slider = element.querySelector("input.signllm-scrub");
  if (slider) slider.max = String(Math.max(0, state.frames.length - 1));
}

function rotate(x, y, z) {
  const cy = Math.cos(state.yaw), sy = Math.sin(state.yaw), cp = Math.cos(state.pitch), sp = Math.sin(state.pitch);
  const x1 = x * cy + z * sy, z1 = -x * sy + z * cy;
  return [x1, y * cp - z1 * sp, y * sp + z1 * cp];
}

function shade(rgb, depth) {  // depth in [-1, 1]: nearer is darker and bolder, farther fades toward the background
  const t = Math.min(0.55, Math.max(0, (depth + 1) * 0.28));
  return `rgb(${rgb.map((v) => Math.round(v + (255 - v) * t)).join(",")})`;
}

// Draw the joints `first .. first + count - 1` of a frame (and the bones between them) into a canvas.
function drawSkeleton(canvas, frame, center, radius, first, count, title, lineScale) {
  const context = canvas.getContext("2d");
  const size = canvas.width;
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, size, canvas.height);
  if (!frame || !(radius > 0)) return;
  const scale = (0.45 * Math.min(size, canvas.height)) / radius;
  const points = [];
  for (let j = 0; j < 50; j++) {
    const [x, y, z] = rotate(frame[3 * j] - center[0], frame[3 * j + 1] - center[1], frame[3 * j + 2] - center[2]);
    points.push([size / 2 + x * scale, canvas.height / 2 + y * scale, z / radius]);
  }
  const inside = (j) => j >= first && j < first + count;
  const bones = props.bones.filter(([a, b]) => inside(a) && inside(b));
  bones.sort((p, q) => points[q[0]][2] + points[q[1]][2] - points[p[0]][2] - points[p[1]][2]);  // far first
  context.lineCap = "round";
  for (const [a, b, group] of bones) {
    const depth = (points[a][2] + points[b][2]) / 2;
    context.strokeStyle = shade(props.colors[group], depth);
    context.lineWidth = lineScale * (group === 0 ? 5 : 3.2) * (1 - 0.3 * depth);
    context.beginPath();
    context.moveTo(points[a][0], points[a][1]);
    context.lineTo(points[b][0], points[b][1]);
    context.stroke();
  }
  for (let j = first; j < first + count; j++) {
    const group = j < 8 ? 0 : j < 29 ? 1 : 2;
    context.fillStyle = shade(props.colors[group], points[j][2]);
    context.beginPath();
    context.arc(points[j][0], points[j][1], lineScale * (group === 0 ? 4 : 3) * (1 - 0.3 * points[j][2]), 0, 2 * Math.PI);
    context.fill();
  }
  context.fillStyle = "#333333";
  context.font = "14px sans-serif";
  context.fillText(title, 8, 18);
}

function drawIdle() {
  for (const name of ["main", "left", "right"]) {
    const canvas = canvasOf(name);
    if (!canvas) continue;
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = "#888888";
    context.font = "15px sans-serif";
    context.fillText(name === "main" ? "Type a word and press Sign" : "", 16, canvas.height / 2);
  }
}

function frameIndex(now) {
  const count = state.frames.length;
  if (!state.done) return count - 1;  // live: the newest frame
  if (!state.playing) return Math.min(state.index, count - 1);
  const fps = state.meta.fps || 25;
  return Math.floor(((now - state.clock) * fps) / 1000) % count;
}

function draw(now) {
  const count = state.frames.length;
  if (!count) { if (state.drawn !== "idle") { drawIdle(); state.drawn = "idle"; } return; }
  const index = Math.max(0, frameIndex(now));
  const key = `${state.header}|${count}|${index}|${state.yaw}|${state.pitch}`;
  if (key === state.drawn) return;
  state.drawn = key;
  state.index = index;
  const frame = state.frames[index];
  const label = state.meta.text ? `"${state.meta.text}"` : "";
  const main = canvasOf("main");
  if (main) {
    drawSkeleton(main, frame, state.center, state.radius * 1.05, 0, 50, `${label}  ${index + 1}/${count}${state.done ? "" : " ..."}`, 1);
  }
  HANDS.forEach((hand, h) => {
    const canvas = canvasOf(hand.name.split(" ")[0]);
    if (canvas) drawSkeleton(canvas, frame, meanOf(frame, hand.first, 21), state.handRadius[h] * 1.1, hand.first, 21, hand.name, 1.3);
  });
  const slider = element.querySelector("input.signllm-scrub");
  if (slider && document.activeElement !== slider) slider.value = String(index);
  const button = element.querySelector("button.signllm-play");
  if (button) button.textContent = state.playing || !state.done ? "Pause" : "Play";
}

// Drag anywhere on a canvas to turn the signer (and the hands with it); double-click to face the front again.
let dragging = null;
element.addEventListener("pointerdown", (event) => {
  if (event.target.tagName !== "CANVAS") return;
  dragging = { x: event.clientX, y: event.clientY, yaw: state.yaw, pitch: state.pitch };
  event.target.setPointerCapture(event.pointerId);
});
element.addEventListener("pointermove", (event) => {
  if (!dragging) return;
  state.yaw = dragging.yaw + (event.clientX - dragging.x) * 0.01;
  state.pitch = Math.max(-1.4, Math.min(1.4, dragging.pitch + (event.clientY - dragging.y) * 0.01));
});
element.addEventListener("pointerup", () => { dragging = null; });
element.addEventListener("dblclick", (event) => {
  if (event.target.tagName === "CANVAS") { state.yaw = 0; state.pitch = 0; }
});
element.addEventListener("input", (event) => {
  if (!event.target.classList.contains("signllm-scrub")) return;
  state.playing = false;
  state.index = parseInt(event.target.value, 10) || 0;
});
element.addEventListener("click", (event) => {
  if (!event.target.classList.contains("signllm-play") || !state.done) return;
  state.playing = !state.playing;
  state.clock = performance.now() - (state.index * 1000) / (state.meta.fps || 25);
});

function loop(now) {
  if (element.isConnected) draw(now);
  requestAnimationFrame(loop);
}
watch("value", sync);
sync();
requestAnimationFrame(loop);
