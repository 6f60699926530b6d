# bash completion for dvm-preload                          -*- shell-script -*-

_dvm_preload()
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
        -n)
            COMPREPLY=($(compgen -W '0 1 2 3 4 5 6 8' -- "$cur"))
            return
            ;;
    esac
    COMPREPLY=($(compgen -W '-q -v -t -n -l --list -G --gc' -- "$cur"))
} && complete -F _dvm_preload dvm-preload
