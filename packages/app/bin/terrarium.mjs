#!/usr/bin/env node
// Launcher for `pnpm exec terrarium`: runs the TypeScript entry point under Node 24's type stripping.
import "../src/bin/terrarium.ts"
