// @ts-check
// The entry of build/pum.js, the default IIFE build: see page.js.
import { install } from './page.js';

install([]);
