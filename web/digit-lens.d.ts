// Types of digit-lens.js (`import 'digitlens/element'`): it defines
// <digit-lens> and exports everything digitlens.js does, and the element's
// class. The element's attributes, events, custom properties and parts are
// described with DigitLensElement in digitlens.d.ts.
import type { DigitLensElement, DigitLensResult, DigitLensTaught } from './digitlens.js';
export * from './digitlens.js';

/** The element's class (registered as <digit-lens> when the module loads). */
export const DigitLens: { new (): DigitLensElement; prototype: DigitLensElement };

declare global {
  interface HTMLElementTagNameMap { 'digit-lens': DigitLensElement; }
  interface HTMLElementEventMap { result: CustomEvent<DigitLensResult>; taught: CustomEvent<DigitLensTaught>; }
}
