using Compare.Cli;

return await CompareCli.RunAsync(args, Console.Out, Console.Error);
