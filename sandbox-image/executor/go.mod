module hyperagents.io/sandbox-executor

go 1.25
