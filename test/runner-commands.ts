/**
 * The workflow commands the GitHub runner would find in a step's stdout, modelled on
 * actions/runner (conservatively: where the runner's behaviour depends on its globalization
 * mode, the model assumes the reading that finds MORE commands):
 * - Runner.Sdk/ProcessInvoker.cs: StreamReader.ReadLine, so a line ends at LF, CR or CR LF.
 * - Runner.Common/ActionCommand.cs TryParseV2: String.TrimStart() (every Char.IsWhiteSpace),
 *   then StartsWith("::"); the command name runs to the first ' ' of the text before the
 *   next "::". TryParse (legacy): IndexOf("##[") anywhere; the name runs to the first ' '
 *   of the text before the next ']'.
 * - Both compare culture-sensitively (ICU), which skips ignorable code points; the model
 *   deletes controls, format characters and default-ignorables before matching.
 */
export interface FoundCommand {
  readonly command: string;
  readonly form: '::' | '##[';
  readonly line: string;
}

/** .NET Char.IsWhiteSpace: Zs, Zl, Zp, U+0009–U+000D, U+0085. */
const DOTNET_SPACE = /^[\p{Zs}\p{Zl}\p{Zp}\t\n\v\f\r\u0085]*/u;
/** ICU collation: controls other than the whitespace ones (TAB, LF, VT, FF, CR, NEL are variable, not ignorable), format characters and default-ignorables weigh nothing. */
const IGNORABLE = /(?![\t\n\v\f\r\u0085])[\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}]/gu;

export function runnerLines(stdout: string): string[] {
  return stdout.split(/\r\n|\r|\n/);
}

export function workflowCommands(stdout: string): FoundCommand[] {
  const found: FoundCommand[] = [];
  for (const line of runnerLines(stdout)) {
    const trimmed = line.replace(DOTNET_SPACE, '');
    // Ignorables may sit between the leading blanks and the "::", or between its characters.
    const v2 = trimmed.replace(IGNORABLE, '').replace(DOTNET_SPACE, '');
    if (v2.startsWith('::')) {
      const end = v2.indexOf('::', 2);
      if (end >= 0) found.push({ command: v2.slice(2, end).split(' ')[0]!.toLowerCase(), form: '::', line });
      continue;
    }
    const legacy = line.replace(IGNORABLE, '');
    const at = legacy.indexOf('##[');
    if (at >= 0) {
      const rb = legacy.indexOf(']', at);
      if (rb >= 0)
        found.push({
          command: legacy
            .slice(at + 3, rb)
            .split(' ')[0]!
            .toLowerCase(),
          form: '##[',
          line,
        });
    }
  }
  return found;
}
