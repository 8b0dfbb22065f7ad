from django.urls import URLPattern

app_name = "powens_sandbox"
urlpatterns: list[URLPattern] = []
