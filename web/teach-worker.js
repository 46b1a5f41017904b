// teach-worker.js — the Worker in which a browser page teaches the network
// (web/digitlens-train.js starts it): requests come in as messages, run by
// the same code that runs them in Node, and their answers, progress and
// errors go back as messages.
import { serve } from './digitlens-train.js';

self.onmessage = async ({ data }) => {
  const { id } = data;
  try {
    const result = await serve(data, (...progress) => self.postMessage({ id, progress }));
    self.postMessage({ id, result }, result.weights ? [result.weights.buffer] : []);
  } catch (e) {
    self.postMessage({ id, error: { message: e.message, code: e.code || 'ARG' } });
  }
};
