// The environment git runs in, and the credentials it may use.
//
// A credential never reaches a URL, `.git/config`, git's argv, a log line or an error message:
//  - https: git asks a GIT_ASKPASS helper for the username and password. The helper is a script
//    in a private directory (0700) that prints two variables set only in the git child's
//    environment; the values themselves are never written to disk.
//  - ssh: the key is written to a 0600 file in the same directory and named with `-i` in
//    GIT_SSH_COMMAND, with IdentitiesOnly and strict host key checking against the Secret's
//    `known_hosts`. Without `known_hosts` the access is refused (KnownHostsRequired): trusting
//    whatever host answers first would hand the repository to anyone on the path.
//
// Nothing is inherited from the operator's environment except PATH. HOME is the private
// directory and the system config is off, so no credential helper, url rewrite, ssh config or
// agent of the host can store, reroute or add credentials.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitLineageError } from './errors.js';
import { createRedactor, type Redactor } from './redact.js';
import { assertRepositoryUrl, transportOf } from './refs.js';

/** Secret data by key, decoded: a Buffer, or a string holding the value itself (not base64). */
export type SecretData = Readonly<Record<string, Buffer | string | undefined>>;

/** The keys a credentials Secret may hold (kubernetes.io/basic-auth and ssh-auth use them). */
export const SECRET_KEYS = {
  username: 'username',
  password: 'password',
  sshPrivateKey: 'ssh-privatekey',
  knownHosts: 'known_hosts',
} as const;

/** Names of the variables the askpass helper reads; set only in git children's environment. */
export const ASKPASS_USERNAME_VAR = 'HYPERAGENT_GIT_USERNAME';
export const ASKPASS_PASSWORD_VAR = 'HYPERAGENT_GIT_PASSWORD';

/** User names at least this long are redacted from messages too. */
export const USERNAME_REDACT_MIN = 8;

/** simple-git's guards that this environment needs lifted, and nothing more. */
export interface UnsafeAllowances {
  allowUnsafeAskPass?: boolean;
  allowUnsafeSshCommand?: boolean;
}

/** How git may reach one repository; dispose() when done, it removes every file it wrote. */
export interface GitAccess {
  /** Which credentials are in use. */
  readonly credentials: 'none' | 'https' | 'ssh';
  /** The whole environment of every git child process. Holds secrets: never log it. */
  readonly env: Readonly<Record<string, string>>;
  readonly unsafe: UnsafeAllowances;
  /** Removes the credentials (and any `user:password@` in URLs) from a message. */
  readonly redact: Redactor;
  /** The private directory (0700) that holds the helper files; HOME of git. */
  readonly dir: string;
  dispose(): Promise<void>;
}

export interface GitAccessOptions {
  /** The repository URL; decides which credentials are needed. */
  repo: string;
  /** Data of the credentials Secret; undefined = no credentials. */
  secret?: SecretData;
  /** Name of the Secret, for messages. */
  secretName?: string;
  /** Where the private directory is made; defaults to the OS temp directory. */
  tmpRoot?: string;
  /** PATH for git; defaults to the operator's. */
  path?: string;
}

/** Kubernetes Secret `data` (base64 by key, as the API returns it) as SecretData. */
export function decodeSecretData(data: Readonly<Record<string, string>> | undefined): SecretData {
  const out: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(data ?? {})) out[key] = Buffer.from(value, 'base64');
  return out;
}

// Every prompt git or ssh might send has its own answer or none: an unexpected prompt fails
// instead of being answered with the password.
const ASKPASS_SCRIPT = `#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$${ASKPASS_USERNAME_VAR}" ;;
  Password*) printf '%s\\n' "$${ASKPASS_PASSWORD_VAR}" ;;
  *) exit 1 ;;
esac
`;

/**
 * Prepares the environment for git to reach `repo` with the Secret's credentials. Throws
 * InvalidRepository for a URL with embedded credentials, CredentialsInvalid when the Secret
 * lacks what the URL's transport needs, KnownHostsRequired for ssh without `known_hosts`.
 * Messages name Secret keys, never values.
 */
export async function openGitAccess(options: GitAccessOptions): Promise<GitAccess> {
  assertRepositoryUrl(options.repo);
  const plan = planCredentials(options);
  const dir = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'hyperagent-git-'));
  try {
    await chmod(dir, 0o700);
    const env: Record<string, string> = {
      PATH: options.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      // English messages, so failures can be told apart (auth, unreachable, rejected).
      LC_ALL: 'C',
      GIT_SSH_COMMAND: sshCommand([]),
    };
    const unsafe: UnsafeAllowances = { allowUnsafeSshCommand: true };
    let secrets: string[] = [];

    if (plan.kind === 'https') {
      const askpass = join(dir, 'askpass.sh');
      await writeFile(askpass, ASKPASS_SCRIPT, { mode: 0o700, flag: 'wx' });
      await chmod(askpass, 0o700);
      env.GIT_ASKPASS = askpass;
      env[ASKPASS_USERNAME_VAR] = plan.username;
      env[ASKPASS_PASSWORD_VAR] = plan.password;
      unsafe.allowUnsafeAskPass = true;
      // A short user name (`git`, `bot`) is no secret, and removing it would garble every
      // message; a long one may be a token, as some hosts take tokens in that field.
      secrets =
        plan.username.length >= USERNAME_REDACT_MIN ? [plan.username, plan.password] : [plan.password];
    } else if (plan.kind === 'ssh') {
      const key = join(dir, 'id');
      const knownHosts = join(dir, 'known_hosts');
      await writeFile(key, plan.key, { mode: 0o600, flag: 'wx' });
      await chmod(key, 0o600);
      await writeFile(knownHosts, plan.knownHosts, { mode: 0o600, flag: 'wx' });
      env.GIT_SSH_COMMAND = sshCommand([
        '-i',
        key,
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
      ]);
      secrets = plan.key.split('\n').filter((line) => line.trim().length >= 16 && !line.startsWith('-----'));
    }

    let disposed = false;
    return {
      credentials: plan.kind,
      env,
      unsafe,
      redact: createRedactor(secrets),
      dir,
      async dispose() {
        if (disposed) return;
        disposed = true;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

type CredentialPlan =
  | { kind: 'none' }
  | { kind: 'https'; username: string; password: string }
  | { kind: 'ssh'; key: string; knownHosts: string };

function planCredentials(options: GitAccessOptions): CredentialPlan {
  const secret = options.secret;
  const transport = transportOf(options.repo);
  if (secret === undefined || transport === 'other') return { kind: 'none' };
  const where = options.secretName ? `Secret ${options.secretName}` : 'the credentials Secret';
  const text = (key: string) => {
    const value = secret[key];
    return value === undefined ? undefined : Buffer.isBuffer(value) ? value.toString('utf8') : value;
  };

  if (transport === 'http') {
    const username = text(SECRET_KEYS.username);
    const password = text(SECRET_KEYS.password);
    if (!username || !password) {
      throw new GitLineageError(
        'CredentialsInvalid',
        `the repository is reached over http(s), but ${where} lacks a non-empty '${SECRET_KEYS.username}' and '${SECRET_KEYS.password}'`,
      );
    }
    if (/[\r\n\0]/.test(username) || /[\r\n\0]/.test(password)) {
      throw new GitLineageError(
        'CredentialsInvalid',
        `'${SECRET_KEYS.username}' and '${SECRET_KEYS.password}' in ${where} must be single lines`,
      );
    }
    return { kind: 'https', username, password };
  }

  const key = text(SECRET_KEYS.sshPrivateKey);
  if (!key || key.trim() === '') {
    throw new GitLineageError(
      'CredentialsInvalid',
      `the repository is reached over ssh, but ${where} lacks '${SECRET_KEYS.sshPrivateKey}'`,
    );
  }
  const knownHosts = text(SECRET_KEYS.knownHosts);
  if (!knownHosts || knownHosts.trim() === '') {
    throw new GitLineageError(
      'KnownHostsRequired',
      `${where} has '${SECRET_KEYS.sshPrivateKey}' but no '${SECRET_KEYS.knownHosts}': add the server's host key ` +
        `(for example from ssh-keyscan, checked out of band); unknown host keys are never trusted`,
    );
  }
  return { kind: 'ssh', key: withFinalNewline(key), knownHosts: withFinalNewline(knownHosts) };
}

// OpenSSH refuses a key file whose last line lacks its newline, and Secrets often drop it.
function withFinalNewline(text: string): string {
  const lf = text.replace(/\r\n?/g, '\n');
  return lf.endsWith('\n') ? lf : `${lf}\n`;
}

/**
 * The ssh command line git runs (through a shell, hence the quoting). The user's ssh config,
 * agent and the global known hosts are left out; BatchMode makes ssh fail instead of prompting.
 */
function sshCommand(extra: readonly string[]): string {
  const args = [
    'ssh',
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    ...extra,
  ];
  return args.map(shellQuote).join(' ');
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./=:@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
