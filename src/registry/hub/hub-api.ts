/**
 * The parts of the Hugging Face Hub's public HTTP API that a pull needs, configured the way the
 * Hub's own clients are: HF_ENDPOINT for the base URL, HF_TOKEN (or the older
 * HUGGING_FACE_HUB_TOKEN) sent as `Authorization: Bearer`.
 */
import { InvalidRequestError, NotFoundError, OrchardError } from '../../shared/errors.js';

export interface HubConfig {
  endpoint: string;
  token: string | null;
  userAgent: string;
}

export function hubConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const endpoint = (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || null;
  return { endpoint, token, userAgent: 'orchard/0.1' };
}

export interface HubSibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256: string; size: number };
}

export interface HubRepoInfo {
  id: string;
  /** The commit the revision points at: every file is fetched from this one commit. */
  sha: string;
  siblings: HubSibling[];
}

/** `org/name` as the Hub spells repository ids (single-segment legacy ids allowed). */
export const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export function parseRepoSpec(spec: string): { repo: string; revision: string | null } {
  const at = spec.indexOf('@');
  const repo = at >= 0 ? spec.slice(0, at) : spec;
  const revision = at >= 0 ? spec.slice(at + 1) : null;
  if (!REPO_ID.test(repo) || repo.includes('..')) {
    throw new InvalidRequestError(
      `'${repo}' is not a Hugging Face repository id (expected org/name).`,
      'repo',
    );
  }
  if (revision !== null && (revision === '' || /[\s]|\.\./.test(revision))) {
    throw new InvalidRequestError(`'${revision}' is not a valid revision.`, 'revision');
  }
  return { repo, revision };
}

export function hubHeaders(
  config: HubConfig,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    'User-Agent': config.userAgent,
    ...(config.token ? { Authorization: `Bearer ${config.token}` } : {}),
    ...extra,
  };
}

export function encodeRepoPath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

export function resolveUrl(
  config: HubConfig,
  repo: string,
  revision: string,
  file: string,
): string {
  return `${config.endpoint}/${encodeRepoPath(repo)}/resolve/${encodeURIComponent(revision)}/${encodeRepoPath(file)}`;
}

/** Turns a failed Hub response into an error that says what to do. */
export async function hubError(
  res: Response,
  what: string,
  config: HubConfig,
): Promise<OrchardError> {
  let detail = '';
  try {
    const body = (await res.json()) as { error?: unknown };
    if (typeof body.error === 'string') detail = body.error;
  } catch {
    // not JSON; the status says enough
  }
  const code = res.headers.get('x-error-code');
  if (res.status === 401 || res.status === 403) {
    return new OrchardError(
      `The Hub refused access to ${what} (HTTP ${res.status}${detail ? `: ${detail}` : ''}). ` +
        (config.token
          ? 'Check that HF_TOKEN may read this repository.'
          : 'If it is private or gated, set HF_TOKEN.'),
      res.status === 401 ? 401 : 403,
      res.status === 401 ? 'authentication_error' : 'permission_error',
      'repo',
      'hub_access_denied',
    );
  }
  if (res.status === 404) {
    if (code === 'RevisionNotFound')
      return new NotFoundError(
        `${what}: revision not found on the Hub.`,
        'revision',
        'revision_not_found',
      );
    if (code === 'EntryNotFound')
      return new NotFoundError(`${what} is not in the repository.`, 'repo', 'file_not_found');
    return new NotFoundError(
      `${what} was not found on the Hub${detail ? ` (${detail})` : ''}.`,
      'repo',
      'repo_not_found',
    );
  }
  return new OrchardError(
    `The Hub answered HTTP ${res.status} for ${what}${detail ? `: ${detail}` : ''}.`,
    502,
    'server_error',
    null,
    'hub_error',
  );
}

export async function fetchRepoInfo(
  config: HubConfig,
  repo: string,
  revision: string,
  signal?: AbortSignal,
): Promise<HubRepoInfo> {
  const url = `${config.endpoint}/api/models/${encodeRepoPath(repo)}/revision/${encodeURIComponent(revision)}?blobs=true`;
  let res: Response;
  try {
    res = await fetch(url, { headers: hubHeaders(config), signal });
  } catch (err) {
    throw new OrchardError(
      `Cannot reach the Hub at ${config.endpoint} (${(err as Error).message}). Check the network or HF_ENDPOINT.`,
      502,
      'server_error',
      null,
      'hub_unreachable',
    );
  }
  if (!res.ok)
    throw await hubError(
      res,
      `repository '${repo}'${revision !== 'main' ? `@${revision}` : ''}`,
      config,
    );
  const body = (await res.json()) as Partial<HubRepoInfo>;
  if (!Array.isArray(body.siblings) || typeof body.sha !== 'string') {
    throw new OrchardError(
      `The Hub's answer for '${repo}' has no file list.`,
      502,
      'server_error',
      null,
      'hub_error',
    );
  }
  return {
    id: body.id ?? repo,
    sha: body.sha,
    siblings: body.siblings.filter((s) => typeof s?.rfilename === 'string'),
  };
}
