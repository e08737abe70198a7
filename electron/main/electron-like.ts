/**
 * The slice of the `electron` module the shell uses, typed by hand: electron is an optional
 * dependency (its types are not installed everywhere), and the shell takes the module by
 * injection so tests can drive it with test/support/fake-electron.ts. Keep this narrow: every
 * member here is one more thing the fake has to model faithfully.
 */

export interface PreventableEvent {
  preventDefault(): void;
}

export interface AppEvents {
  'second-instance': [event: unknown, argv: string[], workingDirectory: string];
  'before-quit': [event: PreventableEvent];
  'window-all-closed': [];
  activate: [];
}

export interface LoginItemSettingsOptions {
  path?: string;
  args?: string[];
}

export interface LoginItemSettings {
  openAtLogin: boolean;
  wasOpenedAtLogin?: boolean;
}

export interface AppLike {
  readonly isPackaged: boolean;
  requestSingleInstanceLock(): boolean;
  on<E extends keyof AppEvents>(event: E, listener: (...args: AppEvents[E]) => void): unknown;
  whenReady(): Promise<void>;
  quit(): void;
  exit(code?: number): void;
  getVersion(): string;
  getName(): string;
  getAppPath(): string;
  getLoginItemSettings(options?: LoginItemSettingsOptions): LoginItemSettings;
  setLoginItemSettings(settings: LoginItemSettingsOptions & { openAtLogin: boolean }): void;
  /** macOS only. */
  dock?: { hide(): void; show(): Promise<void> | void };
}

export interface HeadersReceivedDetails {
  url: string;
  responseHeaders?: Record<string, string[]>;
}

export interface SessionLike {
  webRequest: {
    onHeadersReceived(
      listener: (
        details: HeadersReceivedDetails,
        callback: (response: { responseHeaders?: Record<string, string[]> }) => void,
      ) => void,
    ): void;
  };
  setPermissionRequestHandler(
    handler: (
      webContents: unknown,
      permission: string,
      callback: (granted: boolean) => void,
    ) => void,
  ): void;
}

export interface RenderProcessGoneDetails {
  /** e.g. 'crashed', 'oom', 'killed', 'clean-exit'. */
  reason: string;
  exitCode: number;
}

export interface WebContentsEvents {
  'will-navigate': [event: PreventableEvent & { url?: string }, url: string];
  'did-finish-load': [];
  'render-process-gone': [event: unknown, details: RenderProcessGoneDetails];
}

export interface WebContentsLike {
  readonly id: number;
  readonly session: SessionLike;
  send(channel: string, ...args: unknown[]): void;
  getURL(): string;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' | 'allow' }): void;
  on<E extends keyof WebContentsEvents>(
    event: E,
    listener: (...args: WebContentsEvents[E]) => void,
  ): unknown;
}

export interface BrowserWindowOptions {
  width?: number;
  height?: number;
  minWidth?: number;
  minHeight?: number;
  show?: boolean;
  title?: string;
  icon?: string;
  backgroundColor?: string;
  webPreferences: {
    preload: string;
    contextIsolation: boolean;
    sandbox: boolean;
    nodeIntegration: boolean;
    webSecurity?: boolean;
    spellcheck?: boolean;
  };
}

export interface BrowserWindowEvents {
  close: [event: PreventableEvent];
  closed: [];
  'ready-to-show': [];
}

export interface BrowserWindowLike {
  readonly webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  show(): void;
  hide(): void;
  focus(): void;
  restore(): void;
  close(): void;
  isMinimized(): boolean;
  isVisible(): boolean;
  isDestroyed(): boolean;
  on<E extends keyof BrowserWindowEvents>(
    event: E,
    listener: (...args: BrowserWindowEvents[E]) => void,
  ): unknown;
  once<E extends keyof BrowserWindowEvents>(
    event: E,
    listener: (...args: BrowserWindowEvents[E]) => void,
  ): unknown;
}

export interface NativeImageLike {
  isEmpty(): boolean;
}

/** Electron's MenuItemConstructorOptions, the part the tray uses. */
export interface MenuItemOptions {
  id?: string;
  label?: string;
  type?: 'normal' | 'separator' | 'submenu' | 'checkbox';
  enabled?: boolean;
  checked?: boolean;
  toolTip?: string;
  click?: () => void;
  submenu?: MenuItemOptions[];
}

export interface MenuLike {
  readonly items: unknown[];
}

export interface TrayLike {
  setImage(image: NativeImageLike): void;
  setToolTip(toolTip: string): void;
  setContextMenu(menu: MenuLike | null): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

export interface UtilityProcessLike {
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: 'spawn', listener: () => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

export interface UtilityForkOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: 'pipe' | 'ignore' | 'inherit';
  serviceName?: string;
}

export interface IpcMainInvokeEventLike {
  readonly sender: { readonly id: number };
  readonly senderFrame?: { readonly url: string } | null;
}

export interface ElectronLike {
  app: AppLike;
  BrowserWindow: new (options: BrowserWindowOptions) => BrowserWindowLike;
  Tray: new (image: NativeImageLike) => TrayLike;
  Menu: { buildFromTemplate(template: MenuItemOptions[]): MenuLike };
  nativeImage: { createFromPath(path: string): NativeImageLike };
  clipboard: { writeText(text: string): void };
  shell: {
    openPath(path: string): Promise<string>;
    showItemInFolder(path: string): void;
    openExternal(url: string): Promise<void>;
  };
  utilityProcess: {
    fork(modulePath: string, args?: string[], options?: UtilityForkOptions): UtilityProcessLike;
  };
  ipcMain: {
    handle(
      channel: string,
      listener: (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown,
    ): void;
    removeHandler(channel: string): void;
  };
  dialog: { showErrorBox(title: string, content: string): void };
}
