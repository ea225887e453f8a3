import { render } from 'preact';
import { App } from './app.tsx';
import { Controller } from './controller.ts';
import { registerServiceWorker } from './service-worker.ts';
import './styles.css';

const controller = new Controller();
registerServiceWorker((activate) => controller.offerUpdate(activate));
render(<App controller={controller} />, document.getElementById('app')!);
