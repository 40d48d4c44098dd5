// The headless browser of the UI tests comes with `npm ci`: @sparticuz/chromium ships Chromium's binary in the npm
// package (unpacked into the temp folder on first use), and playwright-core drives it. No system browser, no download.
import sparticuz from '@sparticuz/chromium';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

// On a closed network: none of Chromium's own background connections (they are refused here, many at a time).
const OFFLINE_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

// Its flags are made for AWS Lambda; --single-process there ends the whole browser when a page closes.
const LAMBDA_ONLY = new Set(['--single-process']);

export async function launchBrowser(): Promise<Browser> {
  const args = [...sparticuz.args.filter((arg) => !LAMBDA_ONLY.has(arg)), ...OFFLINE_ARGS];
  try {
    return await chromium.launch({ executablePath: await sparticuz.executablePath(), args });
  } catch (err) {
    // The package unpacks only what is missing, judged by one file per archive: a half-deleted set in the temp
    // folder (say /tmp/chromium without /tmp/libvk_swiftshader.so) leaves a browser that dies at once without GL.
    const dir = tmpdir();
    throw new Error(
      `${(err as Error).message.split('\n')[0]}; if ${dir} holds a partial @sparticuz/chromium unpack, delete ${['chromium', 'fonts', 'libEGL.so', 'libGLESv2.so', 'libvulkan.so.1', 'libvk_swiftshader.so', 'vk_swiftshader_icd.json'].map((f) => join(dir, f)).join(' ')} and run again`,
      { cause: err },
    );
  }
}
