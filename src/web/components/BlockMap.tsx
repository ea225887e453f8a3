import { useEffect, useRef } from 'preact/hooks';
import { BlockState } from '../controller.ts';

const COLORS: Record<number, [number, number, number]> = {
  [BlockState.Missing]: [203, 208, 216],
  [BlockState.Local]: [76, 139, 245],
  [BlockState.Downloaded]: [245, 166, 35],
  [BlockState.Written]: [46, 160, 67],
};
const WHITE: [number, number, number] = [255, 255, 255];

/**
 * The image as a strip of cells, left to right, top to bottom: found in your
 * files, missing, downloaded (verified, waiting to be written), written and
 * verified. A cell covering several blocks shows the least advanced of them.
 */
export function BlockMap({ states, version }: { states: Uint8Array; version: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c || states.length === 0) return;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const { width, height } = c;
    const cells = width * height;
    const image = ctx.createImageData(width, height);
    const pixels = image.data;
    const per = states.length / cells;
    // (Redrawn up to 4 times a second while the workers use every core: no allocation per cell.)
    for (let cell = 0; cell < cells; cell++) {
      const from = Math.floor(cell * per);
      const to = Math.max(from + 1, Math.floor((cell + 1) * per));
      // States are numbered least advanced first: a cell shows its least advanced block.
      let state = 255;
      for (let k = from; k < to && k < states.length; k++) if (states[k] < state) state = states[k];
      const rgb = COLORS[state] ?? WHITE;
      pixels[cell * 4] = rgb[0];
      pixels[cell * 4 + 1] = rgb[1];
      pixels[cell * 4 + 2] = rgb[2];
      pixels[cell * 4 + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }, [states, version]);
  return (
    <figure class="blockmap">
      <canvas ref={canvas} width={512} height={32} data-testid="block-map" aria-label="Map of the image's blocks" />
      <figcaption>
        <span class="key local" /> in your files <span class="key missing" /> missing <span class="key downloaded" /> downloaded <span class="key written" /> written and verified
      </figcaption>
    </figure>
  );
}
