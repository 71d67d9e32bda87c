using Cluster.Silo;
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
catch (SchemaNotCurrentException ex)
{
    await Console.Error.WriteLineAsync($"Cannot start: {ex.Message}");
    return 3;
}
catch (System.Data.Common.DbException ex)
{
    // Never the connection string: it may hold a password.
    await Console.Error.WriteLineAsync($"Cannot start: the database does not answer ({ex.Message})");
    return 4;
}
