import { defaultOptions } from '../../src/core/options.js';

/**
 * The `passivate-at-once` project runs every test with `passivateAfter: 0` as the default: each
 * client's actor is stopped as soon as the synchronous work around its event is done, and
 * re-created from its snapshot for its next event. Tests that set `passivateAfter` themselves
 * keep their value.
 */
(defaultOptions as { passivateAfter: number | false }).passivateAfter = 0;
