import { defineScript } from './defineScript.js';

/** Cluster-wide counts from the index sets. A read. */
export const countsScript = defineScript({
  name: 'counts',
  does: 'Cluster-wide counts by live state, from the state sets, and the number of live nodes.',
  keys: [
    'the handshaking, connected and disconnected sets ({P}:state:<state>), three keys',
    'the live nodes ({P}:nodes)',
  ],
  argv: [],
  reply: '{handshaking, connected, disconnected, nodes}',
  uses: [],
  readOnly: true,
  body: `
return {redis.call('SCARD', k('state', 'handshaking')), redis.call('SCARD', k('state', 'connected')),
  redis.call('SCARD', k('state', 'disconnected')), redis.call('ZCARD', k('nodes'))}
`,
});
