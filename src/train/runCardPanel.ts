// Compare Runs: the run card of two runs chosen in the Runs tree, in a webview panel
// (webview/runCard/). The card is read once from both folders (src/core/run/runCard.ts) when the
// command runs; comparing again replaces it in the same panel. The panel is not kept alive when
// hidden: shown again, it reloads, says `ready` and gets the card again.
import * as vscode from 'vscode';
import { UserError } from '../core/common/errors';
import { runCard } from '../core/run/runCard';
import { runCardMessageProblem, type HostToRunCard, type RunCard } from '../core/webview/protocol';
import { webviewHtml, webviewOptions } from '../common/webviewHtml';

export const RUN_CARD_PANEL_TYPE = 'wordplay.runCard';

let open: { panel: vscode.WebviewPanel; card: RunCard } | undefined;

/** Opens (or reuses) the panel with the card of these two run folders. */
export function compareRuns(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, runDirs: string[]): void {
  const dirs = [...new Set(runDirs)];
  if (dirs.length !== 2) {
    throw new UserError(
      `Compare Runs compares two runs, and ${dirs.length} ${dirs.length === 1 ? 'is' : 'are'} selected: select two in the Runs view (Ctrl/Cmd-click the second).`,
    );
  }
  const card = runCard(dirs[0], dirs[1]);
  const title = `${card.names[0]} vs ${card.names[1]}`;
  const show = (panel: vscode.WebviewPanel) =>
    void panel.webview.postMessage({ type: 'runCard/show', card: open!.card } satisfies HostToRunCard);
  if (open) {
    open.card = card;
    open.panel.title = title;
    open.panel.reveal();
    show(open.panel);
    return;
  }
  const panel = vscode.window.createWebviewPanel(
    RUN_CARD_PANEL_TYPE,
    title,
    vscode.ViewColumn.Active,
    webviewOptions(context.extensionUri),
  );
  panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'wordplay.svg');
  panel.webview.html = webviewHtml(panel.webview, context.extensionUri, 'runCard', 'Wordplay Run Card');
  open = { panel, card };
  const listener = panel.webview.onDidReceiveMessage((message: unknown) => {
    const problem = runCardMessageProblem(message);
    if (problem) {
      log.warn(`run card: ignored a malformed message (${problem}): ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    show(panel); // the only message is `ready`
  });
  panel.onDidDispose(() => {
    listener.dispose();
    if (open?.panel === panel) open = undefined;
  });
}
