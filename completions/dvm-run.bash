# bash completion for dvm-run                              -*- shell-script -*-

_litedvm_templates()
{
    local dir=${LITEDVM_CONFDIR:-/etc/litedvm} f
    for f in "$dir"/*.cfg; do
        [[ -e $f ]] || continue
        f=${f##*/}
        printf '%s\n' "${f%.cfg}"
    done
}

_litedvm_disposables()
{
    xenstore-list /litedvm/disp 2>/dev/null
}

_dvm_run()
{
    local cur prev words cword
    _init_completion || return

    case $prev in
        -t)
            COMPREPLY=($(compgen -W "$(_litedvm_templates)" -- "$cur"))
            return
            ;;
        -n)
            COMPREPLY=($(compgen -W "$(_litedvm_disposables)" -- "$cur"))
            return
            ;;
    esac

    local i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --) _command_offset $((i + 1)); return ;;
            -t|-n) ((i++)) ;;
            -*) ;;
            *) _command_offset $i; return ;;
        esac
    done
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '-v -t -n --' -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -c -- "$cur"))
} && complete -F _dvm_run dvm-run
