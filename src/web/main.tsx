import { render } from 'preact';
import { App } from './app.tsx';
import { Controller } from './controller.ts';
import { registerServiceWorker } from './service-worker.ts';
import { whenSettled } from './when-settled.ts';
import './styles.css';

const controller = new Controller();
// The offline copy is installed (or checked for an update) once the page has had nothing to do for 2 s.
const busy = () => controller.state.image.status === 'loading' || controller.state.phase === 'scanning' || controller.state.phase === 'downloading';
void whenSettled((listener) => controller.subscribe(listener), busy, 2000).then(() => registerServiceWorker((activate) => controller.offerUpdate(activate)));
render(<App controller={controller} />, document.getElementById('app')!);
