/**
 * `sfbridge completion bash|zsh`: a shell completion script. Commands complete from the list below; flags
 * are read from `sfbridge help <command>` when TAB is pressed, so they never drift from the real options.
 */
import type { Writable } from 'node:stream';
import { UsageError } from './args.ts';

const USAGE = `Usage: sfbridge completion bash|zsh

Prints a completion script. Install it with:
  bash:  sfbridge completion bash > ~/.local/share/bash-completion/completions/sfbridge
         (or add  source <(sfbridge completion bash)  to ~/.bashrc)
  zsh:   sfbridge completion zsh > "\${fpath[1]}/_sfbridge"
         (or add  source <(sfbridge completion zsh)  to ~/.zshrc, after compinit)
`;

/** The script for `shell`, completing `commands`. */
export function completionScript(shell: 'bash' | 'zsh', commands: readonly string[]): string {
  const words = [...commands, 'help'].join(' ');
  if (shell === 'bash') {
    return `# sfbridge completion for bash
_sfbridge() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${words} --help --version" -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(sfbridge help "\${COMP_WORDS[1]}" 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 2 ] && [ "\${COMP_WORDS[1]}" = help ]; then
    COMPREPLY=($(compgen -W "${commands.join(' ')}" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o default -F _sfbridge sfbridge
`;
  }
  return `#compdef sfbridge
# sfbridge completion for zsh
_sfbridge() {
  if (( CURRENT == 2 )); then
    compadd -- ${words} --help --version
  elif [[ $words[CURRENT] == -* ]]; then
    compadd -- \${(f)"$(sfbridge help $words[2] 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)"}
  elif (( CURRENT == 3 )) && [[ $words[2] == help ]]; then
    compadd -- ${commands.join(' ')}
  else
    _files
  fi
}
compdef _sfbridge sfbridge
`;
}

export function completionCommand(commands: readonly string[]) {
  return async (argv: string[], io: { stdout?: Writable } = {}): Promise<number> => {
    const stdout = io.stdout ?? process.stdout;
    if (argv[0] === '--help' || argv[0] === '-h') {
      stdout.write(USAGE);
      return 0;
    }
    if (argv.length !== 1 || (argv[0] !== 'bash' && argv[0] !== 'zsh')) throw new UsageError(`name the shell: bash or zsh\n\n${USAGE}`);
    stdout.write(completionScript(argv[0], commands));
    return 0;
  };
}
