module gauntlet.example/w04-grader

go 1.19
