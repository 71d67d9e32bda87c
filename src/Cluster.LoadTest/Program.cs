using Cluster.LoadTest;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

return await LoadTestApplication.RunAsync(args, Console.Out, Console.Error, cancel.Token);
