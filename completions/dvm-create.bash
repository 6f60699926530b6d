# bash completion for dvm-create                           -*- shell-script -*-

_dvm_create()
{
    local cur prev words cword
    _init_completion || return

    case $prev in
        -t)
            local dir=${LITEDVM_CONFDIR:-/etc/litedvm} f list=
            for f in "$dir"/*.cfg; do
                [[ -e $f ]] || continue
                f=${f##*/}
                list+=" ${f%.cfg}"
            done
            COMPREPLY=($(compgen -W "$list" -- "$cur"))
            return
            ;;
    esac
    COMPREPLY=($(compgen -W '-v -t -G' -- "$cur"))
} && complete -F _dvm_create dvm-create
