# bash completion for the litedvm tools                    -*- shell-script -*-
# Installed as dvm-run, with dvm-create, dvm-preload, dvm-open and
# dvm-opend linked to it.

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
        --timeout|-u)
            return
            ;;
    esac

    local i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --) _command_offset $((i + 1)); return ;;
            -t|-n|-u|--timeout) ((i++)) ;;
            -*) ;;
            *) _command_offset $i; return ;;
        esac
    done
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '-h --help -v -t -n -u --timeout --filter-escape-chars --no-filter-escape-chars --wayland --' -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -c -- "$cur"))
} && complete -F _dvm_run dvm-run

_dvm_create()
{
    local cur prev words cword
    _init_completion || return

    case $prev in
        -t)
            COMPREPLY=($(compgen -W "$(_litedvm_templates)" -- "$cur"))
            return
            ;;
        -N|--lifetime)
            return
            ;;
    esac
    COMPREPLY=($(compgen -W '-h --help -v -t -N -G --lifetime' -- "$cur"))
} && complete -F _dvm_create dvm-create

_dvm_preload()
{
    local cur prev words cword
    _init_completion || return

    case $prev in
        -t)
            COMPREPLY=($(compgen -W "$(_litedvm_templates)" -- "$cur"))
            return
            ;;
        -n)
            COMPREPLY=($(compgen -W '0 1 2 3 4 5 6 8' -- "$cur"))
            return
            ;;
        --wait-fd)
            COMPREPLY=($(compgen -W '3 4 5 6 7 8 9' -- "$cur"))
            return
            ;;
    esac
    COMPREPLY=($(compgen -W '-h --help -q -v -t -n --wait-fd -l --list -G --gc --drain' -- "$cur"))
} && complete -F _dvm_preload dvm-preload

# In a guest: templates live in dom0, so -t takes any name.
_dvm_open()
{
    local cur prev words cword
    _init_completion || return

    case $prev in
        -t|--template)
            return
            ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '-r --view-only -t --template -h --help' -- "$cur"))
        return
    fi
    _filedir
} && complete -F _dvm_open dvm-open

_dvm_opend()
{
    local cur prev words cword
    _init_completion || return
    COMPREPLY=($(compgen -W '-v -h' -- "$cur"))
} && complete -F _dvm_opend dvm-opend
