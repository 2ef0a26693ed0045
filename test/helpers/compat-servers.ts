/**
 * A server started from a deepstream config file, as a child process: ours (`deepstream start -c`)
 * or deepstream 7.0.2 itself, on a free port, with the environment given. Killed by `stop()`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repositoryRoot } from './cli-server.ts';
import { freePort } from '../services/real-servers.ts';

export interface ConfigServer {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const REFERENCE = join(repositoryRoot, 'bench/compare/node_modules/@deepstream/server');

/** Undefined when deepstream 7.0.2 can run here (installed now if missing), else why not. */
export async function referenceUnavailable(): Promise<string | undefined> {
  if (existsSync(REFERENCE)) return undefined;
  try {
    await promisify(execFile)('npm', ['install', '--prefix', 'bench/compare', '--no-audit', '--no-fund'], { cwd: repositoryRoot, timeout: 300_000 });
  } catch (error) {
    return `deepstream 7.0.2 is not installed and npm install --prefix bench/compare failed: ${(error as Error).message.split('\n')[0]}`;
  }
  return existsSync(REFERENCE) ? undefined : 'npm install --prefix bench/compare did not install @deepstream/server';
}

export function startOurs(config: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<ConfigServer> {
  return start('ours', (port) => ['core/bin/deepstream.js', 'start', '-c', config, '--host', '127.0.0.1', '--port', String(port), ...extra], env, 'deepstream-ts is ready');
}

export function startReference(config: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigServer> {
  return start('deepstream 7.0.2', (port) => ['bench/compare/deepstream-server.cjs', String(port), config], env, 'listening ');
}

async function start(name: string, args: (port: number) => string[], env: NodeJS.ProcessEnv, ready: string): Promise<ConfigServer> {
  const port = await freePort();
  const child = spawn(process.execPath, args(port), { cwd: repositoryRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name} did not start: ${output}`));
    }, 20_000);
    child.stdout!.on('data', () => {
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${output}`));
    });
  });
  return { url: `ws://127.0.0.1:${port}/deepstream`, port, child, output: () => output, stop };
}

/** Runs `deepstream ARGS…` to its end: exit code and output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['core/bin/deepstream.js', ...args], { cwd: repositoryRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}
