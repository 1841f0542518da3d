/** The ES module entry of pum-client: `import { createClient } from 'pum-client'`. */
export { createClient } from './client.js';
