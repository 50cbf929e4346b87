# fish completion for smartcontext (generated: smartcontext completion fish)
complete -c smartcontext -f
function __smartcontext_namespaces
    set -l home $SMARTCONTEXT_HOME
    test -n "$home"; or set home (set -q XDG_DATA_HOME; and echo $XDG_DATA_HOME; or echo $HOME/.local/share)/smartcontext
    for d in $home/namespaces/*/
        basename $d
    end
end
function __smartcontext_branches
    smartcontext branch list 2>/dev/null | cut -f2
end
complete -c smartcontext -n '__fish_use_subcommand' -l backend -x -a 'sqlite json postgres'
complete -c smartcontext -n '__fish_use_subcommand' -l home
complete -c smartcontext -n '__fish_use_subcommand' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_use_subcommand' -l verbose
complete -c smartcontext -n '__fish_use_subcommand' -l version
complete -c smartcontext -n '__fish_use_subcommand' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_use_subcommand' -s v
complete -c smartcontext -n '__fish_use_subcommand' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a artifact -d 'Store large content once and reference it by id (#a1).'
complete -c smartcontext -n '__fish_seen_subcommand_from artifact' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from artifact; and not __fish_seen_subcommand_from add delete list show' -a add -d 'Store a file\'s content as an artifact; prints its id (#a1).'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from artifact; and not __fish_seen_subcommand_from add delete list show' -a delete -d 'Delete an artifact (asks first; --yes in scripts); its id is never reused.'
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l yes
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -s y
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from artifact; and not __fish_seen_subcommand_from add delete list show' -a list -d 'List artifacts, oldest first.'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from artifact; and not __fish_seen_subcommand_from add delete list show' -a show -d 'Print an artifact\'s content.'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a branch -d 'Session branches: fork the log, compare, merge, delete.'
complete -c smartcontext -n '__fish_seen_subcommand_from branch' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from branch; and not __fish_seen_subcommand_from compare create current delete list merge switch' -a compare -d 'Show the history two branches share and what each added since.'
complete -c smartcontext -n '__fish_seen_subcommand_from compare' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from compare' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from compare' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from compare' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from compare' -x -a '(__smartcontext_branches)'
complete -c smartcontext -n '__fish_seen_subcommand_from branch; and not __fish_seen_subcommand_from compare create current delete list merge switch' -a create -d 'Fork the session log here; the new branch shares the history up to now.'
complete -c smartcontext -n '__fish_seen_subcommand_from create' -l description
complete -c smartcontext -n '__fish_seen_subcommand_from create' -l from -x -a '(__smartcontext_branches)'
complete -c smartcontext -n '__fish_seen_subcommand_from create' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from create' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from create' -l switch
complete -c smartcontext -n '__fish_seen_subcommand_from create' -s d
complete -c smartcontext -n '__fish_seen_subcommand_from create' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from create' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from branch; and not __fish_seen_subcommand_from compare create current delete list merge switch' -a current -d 'Print the current session branch.'
complete -c smartcontext -n '__fish_seen_subcommand_from current' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from current' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from current' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from current' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from branch; and not __fish_seen_subcommand_from compare create current delete list merge switch' -a delete -d 'Delete a session branch and its own events (refuses unmerged events without --force).'
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l force
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l yes
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -s f
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -s y
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -x -a '(__smartcontext_branches)'
complete -c smartcontext -n '__fish_seen_subcommand_from branch; and not __fish_seen_subcommand_from compare create current delete list merge switch' -a list -d 'List session branches; the current one is marked with *.'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from branch; and not __fish_seen_subcommand_from compare create current delete list merge switch' -a merge -d 'Append a branch\'s events since the shared history to the current (or --into) branch.'
complete -c smartcontext -n '__fish_seen_subcommand_from merge' -l into -x -a '(__smartcontext_branches)'
complete -c smartcontext -n '__fish_seen_subcommand_from merge' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from merge' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from merge' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from merge' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from merge' -x -a '(__smartcontext_branches)'
complete -c smartcontext -n '__fish_seen_subcommand_from branch; and not __fish_seen_subcommand_from compare create current delete list merge switch' -a switch -d 'Make a branch current, or follow git\'s current branch with --follow-git.'
complete -c smartcontext -n '__fish_seen_subcommand_from switch' -l follow-git
complete -c smartcontext -n '__fish_seen_subcommand_from switch' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from switch' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from switch' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from switch' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from switch' -x -a '(__smartcontext_branches)'
complete -c smartcontext -n '__fish_use_subcommand' -a compact -d 'Compact the session log: old events become a digest, insights go to memory.'
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -l dry-run
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -l no-extract
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -l preserve-recent
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -l undo
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -s p
complete -c smartcontext -n '__fish_seen_subcommand_from compact' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a compile -d 'Compile the goal, memories, session and checklist into one prompt on stdout.'
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l artifact
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l budget
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l encoding
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l format -x -a 'text markdown xml json messages'
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l memory
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l mode -x -a 'coding debugging exploring planning balanced auto'
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l no-chunking
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l no-decay
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l no-graph
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l observation
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l query
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l rerank
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l strict
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l system
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l transparency -x -a 'off minimal normal full'
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l verbose
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s M
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s O
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s a
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s b
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s f -x -a 'text markdown xml json messages'
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s m -x -a 'coding debugging exploring planning balanced auto'
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s q
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s s
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -s v
complete -c smartcontext -n '__fish_seen_subcommand_from compile' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a completion -d 'Print (or --install) a shell completion script: commands, options and their values.'
complete -c smartcontext -n '__fish_seen_subcommand_from completion' -l install
complete -c smartcontext -n '__fish_seen_subcommand_from completion' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from completion' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from completion' -x -a 'bash zsh fish'
complete -c smartcontext -n '__fish_use_subcommand' -a config -d 'Read and write settings (user config, or the project\'s .smartcontext.toml).'
complete -c smartcontext -n '__fish_seen_subcommand_from config' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from config; and not __fish_seen_subcommand_from get list path set' -a get -d 'Print the value in force for a setting (exit 1 when unset).'
complete -c smartcontext -n '__fish_seen_subcommand_from get' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from get' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from get' -x -a 'backend backups budget compression_strategy database_url encoding max_session_turns mode model namespace redact retrieval safety_margin semantic_model summarizer summarizer_timeout transparency'
complete -c smartcontext -n '__fish_seen_subcommand_from config; and not __fish_seen_subcommand_from get list path set' -a list -d 'List the settings in force and where each comes from (passwords shown as ***).'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from config; and not __fish_seen_subcommand_from get list path set' -a path -d 'Print the path of the user (or project) config file.'
complete -c smartcontext -n '__fish_seen_subcommand_from path' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from path' -l project
complete -c smartcontext -n '__fish_seen_subcommand_from path' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from config; and not __fish_seen_subcommand_from get list path set' -a set -d 'Write a setting to the user config (or the project\'s with --project).'
complete -c smartcontext -n '__fish_seen_subcommand_from set' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from set' -l project
complete -c smartcontext -n '__fish_seen_subcommand_from set' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from set' -x -a 'backend backups budget compression_strategy database_url encoding max_session_turns mode model namespace redact retrieval safety_margin semantic_model summarizer summarizer_timeout transparency'
complete -c smartcontext -n '__fish_use_subcommand' -a doctor -d 'Check every namespace (or one): integrity, schema, indexes, documents, counters.'
complete -c smartcontext -n '__fish_seen_subcommand_from doctor' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from doctor' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from doctor' -l repair
complete -c smartcontext -n '__fish_seen_subcommand_from doctor' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from doctor' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a error -d 'Error memory: failures kept in view until resolved.'
complete -c smartcontext -n '__fish_seen_subcommand_from error' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from error; and not __fish_seen_subcommand_from list log resolve' -a list -d 'List unresolved errors, most recent first (--all adds resolved ones).'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l all
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s a
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from error; and not __fish_seen_subcommand_from list log resolve' -a log -d 'Remember a failure; similar errors are grouped with a count. Prints the group id.'
complete -c smartcontext -n '__fish_seen_subcommand_from log' -l context
complete -c smartcontext -n '__fish_seen_subcommand_from log' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from log' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from log' -s c
complete -c smartcontext -n '__fish_seen_subcommand_from log' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from log' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from error; and not __fish_seen_subcommand_from list log resolve' -a resolve -d 'Mark an error resolved; its resolution is added to the strategy as a learned pattern.'
complete -c smartcontext -n '__fish_seen_subcommand_from resolve' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from resolve' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from resolve' -l resolution
complete -c smartcontext -n '__fish_seen_subcommand_from resolve' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from resolve' -s r
complete -c smartcontext -n '__fish_seen_subcommand_from resolve' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a explain -d 'Explain a compile: every candidate\'s section, score, tokens, outcome and reason.'
complete -c smartcontext -n '__fish_seen_subcommand_from explain' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from explain' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from explain' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from explain' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a export -d 'Export every record of a namespace as JSONL (one JSON object a line).'
complete -c smartcontext -n '__fish_seen_subcommand_from export' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from export' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from export' -l output
complete -c smartcontext -n '__fish_seen_subcommand_from export' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from export' -s o
complete -c smartcontext -n '__fish_seen_subcommand_from export' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a forget -d 'Delete memories by id or by query; asks first (--yes in scripts).'
complete -c smartcontext -n '__fish_seen_subcommand_from forget' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from forget' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from forget' -l query
complete -c smartcontext -n '__fish_seen_subcommand_from forget' -l yes
complete -c smartcontext -n '__fish_seen_subcommand_from forget' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from forget' -s q
complete -c smartcontext -n '__fish_seen_subcommand_from forget' -s y
complete -c smartcontext -n '__fish_seen_subcommand_from forget' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a goal -d 'Set, show or clear the current goal (exit 1 when showing and none is set).'
complete -c smartcontext -n '__fish_seen_subcommand_from goal' -l clear
complete -c smartcontext -n '__fish_seen_subcommand_from goal' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from goal' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from goal' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from goal' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a hook -d 'Git hooks that record commits, decisions and merges as memories.'
complete -c smartcontext -n '__fish_seen_subcommand_from hook' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from hook; and not __fish_seen_subcommand_from backfill install run status uninstall' -a backfill -d 'Record past commits (SINCE..HEAD) as the post-commit hook would; known ones are skipped.'
complete -c smartcontext -n '__fish_seen_subcommand_from backfill' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from backfill' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from backfill' -l repo
complete -c smartcontext -n '__fish_seen_subcommand_from backfill' -l since
complete -c smartcontext -n '__fish_seen_subcommand_from backfill' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from backfill' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from hook; and not __fish_seen_subcommand_from backfill install run status uninstall' -a install -d 'Install git hooks (default: post-commit and post-checkout); existing hooks keep running.'
complete -c smartcontext -n '__fish_seen_subcommand_from install' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from install' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from install' -l post-checkout
complete -c smartcontext -n '__fish_seen_subcommand_from install' -l post-commit
complete -c smartcontext -n '__fish_seen_subcommand_from install' -l post-merge
complete -c smartcontext -n '__fish_seen_subcommand_from install' -l repo
complete -c smartcontext -n '__fish_seen_subcommand_from install' -l sync
complete -c smartcontext -n '__fish_seen_subcommand_from install' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from install' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from hook; and not __fish_seen_subcommand_from backfill install run status uninstall' -a run -d 'Do what the installed hook does (never fails: errors go to the hook log, exit 0).'
complete -c smartcontext -n '__fish_seen_subcommand_from run' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from run' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from run' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from run' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from run' -x -a 'post-commit post-checkout post-merge post-rewrite'
complete -c smartcontext -n '__fish_seen_subcommand_from hook; and not __fish_seen_subcommand_from backfill install run status uninstall' -a status -d 'Show which git hooks are installed, what they chain, and the last logged failure.'
complete -c smartcontext -n '__fish_seen_subcommand_from status' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from status' -l repo
complete -c smartcontext -n '__fish_seen_subcommand_from status' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from hook; and not __fish_seen_subcommand_from backfill install run status uninstall' -a uninstall -d 'Remove smartcontext\'s hooks and put back the hooks they chained, byte for byte.'
complete -c smartcontext -n '__fish_seen_subcommand_from uninstall' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from uninstall' -l repo
complete -c smartcontext -n '__fish_seen_subcommand_from uninstall' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a import -d 'Import a JSONL export; records with the same id are replaced. All or nothing.'
complete -c smartcontext -n '__fish_seen_subcommand_from import' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from import' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from import' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from import' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a list -d 'List memories, most recent first.'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l kind -x -a 'fact decision preference note insight pattern error'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l limit
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l tag
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s k
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s t
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a mcp -d 'Run the MCP server on stdin/stdout (for Claude Code, Cursor, Codex, any MCP client).'
complete -c smartcontext -n '__fish_seen_subcommand_from mcp' -l backend -x -a 'sqlite json postgres'
complete -c smartcontext -n '__fish_seen_subcommand_from mcp' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from mcp' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from mcp' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from mcp; and not __fish_seen_subcommand_from config' -a config -d 'Print the snippet or command that adds this server to an MCP client.'
complete -c smartcontext -n '__fish_seen_subcommand_from config' -l backend -x -a 'sqlite json postgres'
complete -c smartcontext -n '__fish_seen_subcommand_from config' -l client
complete -c smartcontext -n '__fish_seen_subcommand_from config' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from config' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from config' -s c
complete -c smartcontext -n '__fish_seen_subcommand_from config' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from config' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a migrate -d 'Convert a namespace to another backend; the old store is kept as a backup.'
complete -c smartcontext -n '__fish_seen_subcommand_from migrate' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from migrate' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from migrate' -l to -x -a 'sqlite json postgres'
complete -c smartcontext -n '__fish_seen_subcommand_from migrate' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from migrate' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a mode -d 'Show or set the namespace\'s attention mode (how compile shares its budget).'
complete -c smartcontext -n '__fish_seen_subcommand_from mode' -l clear
complete -c smartcontext -n '__fish_seen_subcommand_from mode' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from mode' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from mode' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from mode' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from mode' -x -a 'coding debugging exploring planning balanced auto'
complete -c smartcontext -n '__fish_use_subcommand' -a namespace -d 'Namespaces: list them, show the one in force, delete one.'
complete -c smartcontext -n '__fish_seen_subcommand_from namespace' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from namespace; and not __fish_seen_subcommand_from delete list show' -a delete -d 'Delete a namespace and everything in it (asks first; --yes in scripts).'
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l yes
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -s y
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from delete' -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from namespace; and not __fish_seen_subcommand_from delete list show' -a list -d 'List the namespaces (the data directory\'s, and the database\'s on postgres); * marks'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from namespace; and not __fish_seen_subcommand_from delete list show' -a show -d 'Show a namespace: which one is in force and why, its backend, path and sizes.'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from show' -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_use_subcommand' -a prefix -d 'The stable prompt prefix and KV-cache reuse.'
complete -c smartcontext -n '__fish_seen_subcommand_from prefix' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from prefix; and not __fish_seen_subcommand_from break check clear set show' -a break -d 'Mark a planned cache break: the next compile may change early parts of the prompt.'
complete -c smartcontext -n '__fish_seen_subcommand_from break' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from break' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from break' -l reason
complete -c smartcontext -n '__fish_seen_subcommand_from break' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from break' -s r
complete -c smartcontext -n '__fish_seen_subcommand_from break' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from prefix; and not __fish_seen_subcommand_from break check clear set show' -a check -d 'Report measured KV-cache reuse between recent compiles and warn about volatile early text.'
complete -c smartcontext -n '__fish_seen_subcommand_from check' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from check' -l last
complete -c smartcontext -n '__fish_seen_subcommand_from check' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from check' -l system
complete -c smartcontext -n '__fish_seen_subcommand_from check' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from check' -s s
complete -c smartcontext -n '__fish_seen_subcommand_from check' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from prefix; and not __fish_seen_subcommand_from break check clear set show' -a clear -d 'Remove the stable prefix (the next compile is a planned cache break).'
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from prefix; and not __fish_seen_subcommand_from break check clear set show' -a set -d 'Set the stable prefix that every compiled prompt starts with, byte for byte.'
complete -c smartcontext -n '__fish_seen_subcommand_from set' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from set' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from set' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from set' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from prefix; and not __fish_seen_subcommand_from break check clear set show' -a show -d 'Print the stable prefix exactly as stored (exit 1 when none is set).'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a remember -d 'Remember a fact, decision or note; prints its id (the existing one for the same text).'
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -l allow-duplicate
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -l importance
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -l kind -x -a 'fact decision preference note insight pattern error'
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -l source
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -l tag
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -s t
complete -c smartcontext -n '__fish_seen_subcommand_from remember' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a search -d 'Search memories, best match first (exit 1 when nothing matches).'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l explain
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l kind -x -a 'fact decision preference note insight pattern error'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l limit
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l tag
complete -c smartcontext -n '__fish_seen_subcommand_from search' -s k
complete -c smartcontext -n '__fish_seen_subcommand_from search' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -s t
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a session -d 'The session log: add events, show, undo, end, limits.'
complete -c smartcontext -n '__fish_seen_subcommand_from session' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from add end pop search set-max-turns set-strategy show status' -a add -d 'Append an event to the current branch\'s session log; prints its sequence number.'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l command
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l strategy -x -a 'none heuristic hybrid'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -s c
complete -c smartcontext -n '__fish_seen_subcommand_from add' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from add end pop search set-max-turns set-strategy show status' -a end -d 'Close the session: decisions and facts go to long-term memory, the log to the archive.'
complete -c smartcontext -n '__fish_seen_subcommand_from end' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from end' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from end' -l summary
complete -c smartcontext -n '__fish_seen_subcommand_from end' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from end' -s s
complete -c smartcontext -n '__fish_seen_subcommand_from end' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from add end pop search set-max-turns set-strategy show status' -a pop -d 'Remove the last event of the current branch (undo an add) and print it.'
complete -c smartcontext -n '__fish_seen_subcommand_from pop' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from pop' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from pop' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from pop' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from add end pop search set-max-turns set-strategy show status' -a search -d 'Search every event of the session log, compacted ones included (exit 1: no match).'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l all-branches
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l branch -x -a '(__smartcontext_branches)'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l limit
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -s b -x -a '(__smartcontext_branches)'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -s k
complete -c smartcontext -n '__fish_seen_subcommand_from search' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from search' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from add end pop search set-max-turns set-strategy show status' -a set-max-turns -d 'Set this namespace\'s session limit; a longer log is trimmed right away.'
complete -c smartcontext -n '__fish_seen_subcommand_from set-max-turns' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from set-max-turns' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from set-max-turns' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from set-max-turns' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from add end pop search set-max-turns set-strategy show status' -a set-strategy -d 'Set this namespace\'s compression strategy for trimming.'
complete -c smartcontext -n '__fish_seen_subcommand_from set-strategy' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from set-strategy' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from set-strategy' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from set-strategy' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from set-strategy' -x -a 'none heuristic hybrid'
complete -c smartcontext -n '__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from add end pop search set-max-turns set-strategy show status' -a show -d 'Show the current branch\'s session log, oldest first.'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l full
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l limit
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l raw
complete -c smartcontext -n '__fish_seen_subcommand_from show' -s k
complete -c smartcontext -n '__fish_seen_subcommand_from show' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from add end pop search set-max-turns set-strategy show status' -a status -d 'Show the current branch, log size in events and tokens, limit and compression strategy.'
complete -c smartcontext -n '__fish_seen_subcommand_from status' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from status' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from status' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from status' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a show -d 'Show one memory in full.'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a stats -d 'Show tokens per tier and the recent compiles\' quality trend and cache reuse.'
complete -c smartcontext -n '__fish_seen_subcommand_from stats' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from stats' -l last
complete -c smartcontext -n '__fish_seen_subcommand_from stats' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from stats' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from stats' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a strategy -d 'Strategy: heuristics and what was learned, versioned.'
complete -c smartcontext -n '__fish_seen_subcommand_from strategy' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from strategy; and not __fish_seen_subcommand_from add-heuristic add-pattern failure history init show success templates' -a add-heuristic -d 'Record a heuristic in the strategy (bumps its version).'
complete -c smartcontext -n '__fish_seen_subcommand_from add-heuristic' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from add-heuristic' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add-heuristic' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add-heuristic' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from strategy; and not __fish_seen_subcommand_from add-heuristic add-pattern failure history init show success templates' -a add-pattern -d 'Record a pattern in the strategy (bumps its version).'
complete -c smartcontext -n '__fish_seen_subcommand_from add-pattern' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from add-pattern' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add-pattern' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add-pattern' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from strategy; and not __fish_seen_subcommand_from add-heuristic add-pattern failure history init show success templates' -a failure -d 'Record a failure in the strategy (bumps its version).'
complete -c smartcontext -n '__fish_seen_subcommand_from failure' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from failure' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from failure' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from failure' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from strategy; and not __fish_seen_subcommand_from add-heuristic add-pattern failure history init show success templates' -a history -d 'Show every strategy update with the version it produced, oldest first.'
complete -c smartcontext -n '__fish_seen_subcommand_from history' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from history' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from history' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from history' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from strategy; and not __fish_seen_subcommand_from add-heuristic add-pattern failure history init show success templates' -a init -d 'Start the strategy from a template or blank; learned entries are kept unless --reset.'
complete -c smartcontext -n '__fish_seen_subcommand_from init' -l domain
complete -c smartcontext -n '__fish_seen_subcommand_from init' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from init' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from init' -l reset
complete -c smartcontext -n '__fish_seen_subcommand_from init' -l template -x -a 'code_review data_pipeline debugging refactoring security_audit'
complete -c smartcontext -n '__fish_seen_subcommand_from init' -l yes
complete -c smartcontext -n '__fish_seen_subcommand_from init' -s d
complete -c smartcontext -n '__fish_seen_subcommand_from init' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from init' -s t -x -a 'code_review data_pipeline debugging refactoring security_audit'
complete -c smartcontext -n '__fish_seen_subcommand_from init' -s y
complete -c smartcontext -n '__fish_seen_subcommand_from init' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from strategy; and not __fish_seen_subcommand_from add-heuristic add-pattern failure history init show success templates' -a show -d 'Show the strategy, most useful entries first (exit 1 when there is none).'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from show' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from strategy; and not __fish_seen_subcommand_from add-heuristic add-pattern failure history init show success templates' -a success -d 'Record a success in the strategy (bumps its version).'
complete -c smartcontext -n '__fish_seen_subcommand_from success' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from success' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from success' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from success' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from strategy; and not __fish_seen_subcommand_from add-heuristic add-pattern failure history init show success templates' -a templates -d 'List the strategy templates: built-in ones and [templates.NAME] tables from config.'
complete -c smartcontext -n '__fish_seen_subcommand_from templates' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from templates' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from templates' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from templates' -l help
complete -c smartcontext -n '__fish_use_subcommand' -a todo -d 'The checklist recited at the end of every prompt.'
complete -c smartcontext -n '__fish_seen_subcommand_from todo' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from todo; and not __fish_seen_subcommand_from add block clear done list skip start' -a add -d 'Add a task (or a subtask with --parent); prints its id.'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l parent
complete -c smartcontext -n '__fish_seen_subcommand_from add' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from add' -s p
complete -c smartcontext -n '__fish_seen_subcommand_from add' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from todo; and not __fish_seen_subcommand_from add block clear done list skip start' -a block -d 'Mark a task blocked.'
complete -c smartcontext -n '__fish_seen_subcommand_from block' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from block' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from block' -l note
complete -c smartcontext -n '__fish_seen_subcommand_from block' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from block' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from todo; and not __fish_seen_subcommand_from add block clear done list skip start' -a clear -d 'Remove done and skipped tasks (--all: every task); ids are never reused.'
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -l all
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -l yes
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -s y
complete -c smartcontext -n '__fish_seen_subcommand_from clear' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from todo; and not __fish_seen_subcommand_from add block clear done list skip start' -a done -d 'Mark a task done.'
complete -c smartcontext -n '__fish_seen_subcommand_from done' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from done' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from done' -l note
complete -c smartcontext -n '__fish_seen_subcommand_from done' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from done' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from todo; and not __fish_seen_subcommand_from add block clear done list skip start' -a list -d 'List open tasks in order, subtasks indented (--all adds done and skipped ones).'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l all
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s a
complete -c smartcontext -n '__fish_seen_subcommand_from list' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from list' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from todo; and not __fish_seen_subcommand_from add block clear done list skip start' -a skip -d 'Mark a task skipped.'
complete -c smartcontext -n '__fish_seen_subcommand_from skip' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from skip' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from skip' -l note
complete -c smartcontext -n '__fish_seen_subcommand_from skip' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from skip' -l help
complete -c smartcontext -n '__fish_seen_subcommand_from todo; and not __fish_seen_subcommand_from add block clear done list skip start' -a start -d 'Mark a task started.'
complete -c smartcontext -n '__fish_seen_subcommand_from start' -l json
complete -c smartcontext -n '__fish_seen_subcommand_from start' -l namespace -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from start' -l note
complete -c smartcontext -n '__fish_seen_subcommand_from start' -s n -x -a '(__smartcontext_namespaces)'
complete -c smartcontext -n '__fish_seen_subcommand_from start' -l help
