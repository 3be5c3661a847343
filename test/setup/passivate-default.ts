import { defaultOptions, PASSIVATE_AFTER } from '../../src/core/options.js';

/**
 * The `default` project runs every test with the documented `passivateAfter`. Test files share
 * worker processes (`isolate: false`), so a file of the `passivate-at-once` project may have run
 * in this process before: its setting is put back before each file.
 */
(defaultOptions as { passivateAfter: number | false }).passivateAfter = PASSIVATE_AFTER;
