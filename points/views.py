from django.http import HttpResponse


def home(request):
    return HttpResponse("")


rankings = my_entries = villager_entries = home
