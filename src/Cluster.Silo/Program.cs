using Cluster.Silo.Hosting;

try
{
    if (args is ["migrate", .. var rest])
    {
        return await MigrateCommand.RunAsync(rest);
    }

    await SiloApplication.Build(args).RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync("Invalid configuration:");
    foreach (var failure in ex.Failures)
    {
        await Console.Error.WriteLineAsync($"  {failure}");
    }

    return 2;
}
